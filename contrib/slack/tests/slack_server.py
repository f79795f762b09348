"""A stand-in for Slack's incoming webhook on 127.0.0.1 that records every payload.

A real HTTP server (the standard library's, one thread per request) in the test's
process: `wave` posts to it over loopback exactly as it would post to hooks.slack.com.
``mode`` says how it answers, and can change between requests:

* ``ok`` — 200 ``ok``, as Slack answers a message it accepted;
* ``500`` — 500 ``internal_error``;
* ``429`` — 429 ``rate_limited`` with ``Retry-After: <retry_after>``, then ``ok`` once;
* ``400`` — 400 ``invalid_payload`` (final: not retried);
* ``hang`` — reads the request and never answers, until the server stops;
* ``refuse`` — :meth:`refuse` closes the listening socket: connections are refused.

A module of its own, named so no other test directory's module shadows it.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET_PATH = "/services/T0WAVE/B0SLACK/s3cr3tWebh00kT0ken"
"""The webhook path: its token is the secret no output may show."""


class RecordingWebhook:
    def __init__(self) -> None:
        self.mode = "ok"
        self.retry_after = "1"
        self.payloads: list[dict[str, Any]] = []
        self.requests: list[tuple[float, str]] = []  # (monotonic time, mode answered)
        self._release = threading.Event()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                mode = webhook.mode
                webhook.requests.append((time.monotonic(), mode))
                if self.path != SECRET_PATH:
                    self._answer(404, "no_service")
                    return
                if mode == "hang":
                    webhook._release.wait(60)
                    return
                if mode == "500":
                    self._answer(500, "internal_error")
                    return
                if mode == "400":
                    self._answer(400, "invalid_payload")
                    return
                if mode == "429":
                    webhook.mode = "ok"
                    self._answer(429, "rate_limited", {"Retry-After": webhook.retry_after})
                    return
                webhook.payloads.append(json.loads(body))
                self._answer(200, "ok")

            def _answer(
                self, status: int, text: str, headers: dict[str, str] | None = None
            ) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{SECRET_PATH}"

    def refuse(self) -> None:
        """Stop listening: from now on a connection to the port is refused."""
        self.stop()

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)
