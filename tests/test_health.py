"""HTTP verification against a real server whose answers the test scripts, round by round."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wave_sdk.config import HealthConfig, HealthEndpoint
from wave_sdk.health import check_endpoint, probe, verify


class Scripted:
    """A loopback server answering from a queue of (status, body); the last answer repeats."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, object, float]] = [(200, {"status": "ok"}, 0.0)]
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                outer.requests += 1
                status, body, delay = (
                    outer.answers.pop(0) if len(outer.answers) > 1 else outer.answers[0]
                )
                time.sleep(delay)
                data = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def server() -> Iterator[Scripted]:
    s = Scripted()
    s.thread.start()
    yield s
    s.server.shutdown()
    s.server.server_close()


def config(**kwargs: object) -> HealthConfig:
    base: dict[str, object] = {
        "endpoints": [{"path": "/api/health"}],
        "interval": 0.01,
        "consecutive": 1,
        "retries": 5,
        "deadline": 10,
        "timeout": 1,
    }
    return HealthConfig.model_validate({**base, **kwargs})


def test_status_and_json_expectations(server: Scripted) -> None:
    endpoint = HealthEndpoint.model_validate(
        {"path": "/x", "json": {"status": "ok", "checks.0.name": "db"}}
    )
    server.answers = [(200, {"status": "ok", "checks": [{"name": "db"}]}, 0.0)]
    assert check_endpoint(server.url, endpoint, timeout=1).ok
    server.answers = [(200, {"status": "ok", "checks": []}, 0.0)]
    result = check_endpoint(server.url, endpoint, timeout=1)
    assert not result.ok and "checks.0.name" in result.detail
    server.answers = [(200, b"<html>", 0.0)]
    assert check_endpoint(server.url, endpoint, timeout=1).detail == "body is not JSON"
    server.answers = [(500, {}, 0.0)]
    result = check_endpoint(server.url, endpoint, timeout=1)
    assert (result.ok, result.status_code) == (False, 500)
    assert result.response_time_ms is not None and result.response_time_ms > 0


def test_timeout_per_request(server: Scripted) -> None:
    server.answers = [(200, {}, 0.5)]
    result = check_endpoint(server.url, HealthEndpoint(path="/slow"), timeout=0.1)
    assert not result.ok and "no complete answer within 0.1s" in result.detail


def test_needs_consecutive_passing_rounds(server: Scripted) -> None:
    server.answers = [
        (200, {}, 0.0),
        (503, {}, 0.0),
        (200, {}, 0.0),
        (200, {}, 0.0),
        (200, {}, 0.0),
    ]
    cfg = config(consecutive=3)
    outcome = verify(lambda: probe(server.url, cfg), cfg)
    assert outcome.ok
    # pass, FAIL (streak reset), then three in a row
    assert [all(r.ok for r in rnd) for rnd in outcome.rounds] == [True, False, True, True, True]


def test_gives_up_after_retries(server: Scripted) -> None:
    server.answers = [(503, {}, 0.0)]
    cfg = config(retries=2)
    outcome = verify(lambda: probe(server.url, cfg), cfg)
    assert not outcome.ok and len(outcome.rounds) == 3
    assert "retries = 2" in outcome.reason


def test_overall_deadline(server: Scripted) -> None:
    server.answers = [(503, {}, 0.0)]
    cfg = config(retries=10_000, deadline=0.5, interval=0.05)
    started = time.monotonic()
    outcome = verify(lambda: probe(server.url, cfg), cfg)
    assert not outcome.ok and "deadline" in outcome.reason
    assert time.monotonic() - started < 3


def test_no_url_is_a_failure_not_a_pass() -> None:
    [result] = probe(None, config())
    assert not result.ok and "base_url" in result.detail


def test_unreachable_server_reports_connection_error() -> None:
    from wave_sdk.testing import free_port

    [result] = probe(f"http://127.0.0.1:{free_port()}", config())
    assert not result.ok and "ConnectError" in result.detail


class Dripping:
    """A loopback server that sends headers at once, then its body one byte per second."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"status": "ok", "padding": "x" * 200}).encode()
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(1.0)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_dripping_body_is_bounded_by_the_request_timeout() -> None:
    drip = Dripping()
    try:
        started = time.monotonic()
        result = check_endpoint(drip.url, HealthEndpoint(path="/"), timeout=3)
        took = time.monotonic() - started
    finally:
        drip.server.shutdown()
    assert not result.ok and "no complete answer within 3s" in result.detail
    assert took < 3 + 1.5, took  # the timeout, plus at most one short body read


def test_verification_deadline_bounds_the_whole_step() -> None:
    """With a dripping endpoint, verification ends at its deadline, not rounds later."""
    drip = Dripping()
    config = HealthConfig(
        endpoints=[HealthEndpoint(path="/")], timeout=3, deadline=5, retries=50, interval=0.1
    )
    try:
        started = time.monotonic()
        outcome = verify(lambda: probe(drip.url, config), config)
        took = time.monotonic() - started
    finally:
        drip.server.shutdown()
    assert not outcome.ok
    assert took < 5 + 1.5, took
