"use strict";
// `npm run build`: what a real build leaves behind, a file the app reads at start.
const fs = require("fs");
const conf = JSON.parse(fs.readFileSync("app.json", "utf8"));
fs.mkdirSync("build", { recursive: true });
fs.writeFileSync("build/info.txt", `built ${conf.version} in ${process.cwd()}\n`);
