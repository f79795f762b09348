"use strict";
// The app the SSH adapter's tests deploy with pm2: the runbook's three health endpoints,
// its version, and two ways to be broken — app.json's "failing" endpoints, and "requires":
// environment variables without which every health endpoint answers 503 (a host missing
// its configuration). It prints a line when it listens and, per request, app.json's "log"
// lines (how a release that logs errors while answering well is made).
const fs = require("fs");
const http = require("http");
const path = require("path");

const conf = JSON.parse(fs.readFileSync(path.join(__dirname, "app.json"), "utf8"));
const missing = (conf.requires || []).filter((key) => !process.env[key]);
let built = null;
try {
  built = fs.readFileSync(path.join(__dirname, "build", "info.txt"), "utf8").trim();
} catch (_) {
  built = null;
}
const HEALTH = ["/api/health", "/api/health/db", "/api/health/external"];

http
  .createServer((req, res) => {
    for (const line of conf.log || []) console.log(line);
    let code = 200;
    let body;
    if (HEALTH.includes(req.url)) {
      const bad = (conf.failing || []).includes(req.url) || missing.length > 0;
      code = bad ? 503 : 200;
      body = { status: bad ? "fail" : "ok", version: conf.version, missing };
    } else if (req.url === "/") {
      code = (conf.failing || []).includes("/") ? 503 : 200;
      body = {
        app: "wave ssh test app",
        version: conf.version,
        release: process.env.WAVE_RELEASE || null,
        cwd: process.cwd(),
        built,
        pid: process.pid,
        token: process.env.API_TOKEN ? "set" : "unset",
      };
    } else {
      code = 404;
      body = { error: "not found" };
    }
    const data = JSON.stringify(body);
    res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
    res.end(data);
  })
  .listen(Number(process.env.PORT || 3000), "127.0.0.1", function () {
    console.log(`health app ${conf.version} listening on port ${this.address().port}`);
  });
