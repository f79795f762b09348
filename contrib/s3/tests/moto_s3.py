"""A real S3 endpoint on loopback: moto's server app, in its own process group.

Run as a script it serves moto's S3 on ``127.0.0.1`` at a port the kernel picks and prints
that port on its first line. The tests talk to it over HTTP through boto3, so the store's
real code path runs (signing, retries, headers, the 412 of a failed condition) — not
moto's in-process patching.

**What moto implements of conditional writes** (read in moto 5.2's ``moto/s3/responses.py``):
``PutObject`` honours ``If-None-Match: *`` and ``If-Match: <ETag>`` (412
``PreconditionFailed``), ``DeleteObject`` honours ``If-Match``. It never answers 409
``ConditionalRequestConflict`` (S3's answer to two conditional writes on one key at the
same instant), so that branch of the store is not exercised here. moto applies a condition
by checking, then writing, in its request handler: with its usual threaded server two
racing requests could both pass the check, which S3 never allows. This server therefore
handles one request at a time (``threaded=False``), making each conditional write atomic as
S3's are; the store's lock logic is tested on that, and the concurrency comes from the
several client processes of each test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REGION = "us-east-1"

# The standard AWS chain, through the environment: what every test process gets.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing-wave-s3-key",
    "AWS_SECRET_ACCESS_KEY": "testing-wave-s3-secret",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",  # never look for an instance role off-box
}


@dataclass
class MotoServer:
    """A running moto server: its URL and the process to stop."""

    process: subprocess.Popen[str]
    url: str

    def stop(self) -> None:
        """Kill its process group by the pid we started, and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def start(log: Path, timeout: float = 30.0) -> MotoServer:
    """Start the server; return once it printed its port (or raise, with its log)."""
    out = log.open("w")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__)), "serve"],
        stdout=subprocess.PIPE,
        stderr=out,
        text=True,
        start_new_session=True,
        env={**os.environ, "MOTO_CALL_RESET_API": "false"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if sel.select(timeout=0.2):
                line = process.stdout.readline().strip()
                if line.isdigit():
                    return MotoServer(process, f"http://127.0.0.1:{line}")
                break
            if process.poll() is not None:
                break
    server = MotoServer(process, "")
    server.stop()
    raise RuntimeError(f"moto server did not start: {log.read_text()[-2000:]}")


def _serve() -> None:
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=False)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__" and sys.argv[1:] == ["serve"]:
    _serve()
