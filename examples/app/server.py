"""A tiny web app with the runbook's three health endpoints, for the demo and the tests.

It reads ``app.json`` beside it: ``{"version": "v1", "failing": ["/api/health/db"]}`` lists
endpoints that answer 503 — that is how the broken release is broken. Port from $PORT.
"""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Not resolved: in examples/app-broken the script is a symlink and app.json is its own.
SETTINGS = json.loads((Path(__file__).parent / "app.json").read_text())
HEALTH = {"/api/health", "/api/health/db", "/api/health/external"}


class Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        if self.path in HEALTH:
            failing = self.path in SETTINGS.get("failing", [])
            self._send(503 if failing else 200,
                       {"status": "fail" if failing else "ok", "version": SETTINGS["version"]})
        elif self.path == "/":
            self._send(200, {"app": "wave demo", "version": SETTINGS["version"]})
        else:
            self._send(404, {"error": "not found"})

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.address_string()} {format % args}", flush=True)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "3000"))
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
