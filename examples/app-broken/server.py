"""A tiny web app with the runbook's three health endpoints, for demos and adapter tests.

Standard library only, so it runs wherever Python 3 does (a container, a remote host, a
release directory). It reads ``app.json`` beside it — ``{"version": "v1", "failing":
["/api/health/db"]}`` — and answers 503 on the endpoints listed in ``failing``: that is how
a "broken release" is made. ``GET /`` answers ``{"app": …, "version": …}`` (503 when
``"/"`` is failing): the conformance suite asks it which release is served. It listens on
127.0.0.1:$PORT and prints a line saying so, then one per request, each after the lines of
``"log"`` (``{"log": ["ERROR payment refused"]}``): that is how a release that logs errors
while it answers well is made.

Adapter authors use :func:`write_app` to make release directories for the conformance suite.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HEALTH_PATHS = ("/api/health", "/api/health/db", "/api/health/external")


def write_app(
    directory: Path, version: str, *, failing: Iterable[str] = (), log: Iterable[str] = ()
) -> Path:
    """Write this app and its ``app.json`` into ``directory``; return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(__file__, directory / "server.py")
    settings = {"version": version, "failing": list(failing), "log": list(log)}
    (directory / "app.json").write_text(json.dumps(settings))
    return directory


class Handler(BaseHTTPRequestHandler):
    # Without it a keep-alive client waits ~40 ms per request (Nagle + delayed ACK).
    disable_nagle_algorithm = True
    settings: dict[str, object] = {}

    def do_GET(self) -> None:
        version = self.settings.get("version")
        failing = self.settings.get("failing") or []
        path = self.path.partition("?")[0]  # a query (a token) changes nothing
        lines = self.settings.get("log") or []
        for line in lines if isinstance(lines, list) else []:
            print(line, flush=True)
        if path in HEALTH_PATHS:
            bad = path in failing  # type: ignore[operator]
            self._send(503 if bad else 200, {"status": "fail" if bad else "ok", "version": version})
        elif path == "/":
            down = "/" in failing  # type: ignore[operator]
            self._send(503 if down else 200, {"app": "wave health app", "version": version})
        else:
            self._send(404, {"error": "not found"})

    def _send(self, code: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.address_string()} {format % args}", flush=True)


def main() -> None:
    # Not resolved: where the script is a symlink, the app.json beside the link is its own.
    Handler.settings = json.loads((Path(__file__).parent / "app.json").read_text())
    port = int(os.environ.get("PORT", "3000"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"health app {Handler.settings.get('version')} listening on port {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
