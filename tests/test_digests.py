"""The digest-deploy toolkit: manifests checked against coreutils, uploads against a real
HTTP server on loopback that records what it received and answers as a platform under
load does (429 with Retry-After or a rate-limit reset, 503, dropped connections)."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from wave_sdk.digests import RetryPolicy, Upload, UploadFailed, build_manifest, upload
from wave_sdk.digests.progress import ProgressLine
from wave_sdk.errors import UsageError


def site(root: Path) -> Path:
    files = {
        "index.html": b"<h1>hello</h1>\n",
        "css/app.css": b"body { color: red }\n",
        "img/logo.bin": os.urandom(300_000),
        "same-as-index.html": b"<h1>hello</h1>\n",
        ".well-known/security.txt": b"Contact: mailto:sec@example.com\n",
        ".env": b"SECRET=1\n",
        "caf\u0065\u0301.txt": b"decomposed name\n",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_manifest_digests_agree_with_coreutils(tmp_path: Path) -> None:
    root = site(tmp_path / "out")
    for algorithm, tool in (("sha1", "sha1sum"), ("sha256", "sha256sum")):
        manifest = build_manifest(root, algorithm=algorithm)
        for entry in manifest.files:
            out = subprocess.run(
                [tool, "--", str(entry.source)], capture_output=True, text=True, check=True
            )
            assert out.stdout.split()[0] == entry.digest, entry.path
            assert entry.size == os.stat(entry.source).st_size


def test_manifest_rules_hidden_normalised_links(tmp_path: Path) -> None:
    root = site(tmp_path / "out")
    (root / "link.html").symlink_to("index.html")
    manifest = build_manifest(root)
    paths = [f.path for f in manifest.files]
    assert ".env" not in paths, "hidden files are left out"
    assert ".well-known/security.txt" in paths, "…but sites must serve .well-known"
    assert "caf\u00e9.txt" in paths, "names are NFC, as browsers request them"
    by_path = {f.path: f for f in manifest.files}
    assert by_path["link.html"].digest == by_path["index.html"].digest
    assert manifest.digests(leading_slash=True)["/index.html"] == by_path["index.html"].digest
    both = manifest.needing([by_path["index.html"].digest])
    assert {f.path for f in both} == {"index.html", "same-as-index.html", "link.html"}
    assert ".env" in {f.path for f in build_manifest(root, include_hidden=True).files}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda r: (r / "secret").symlink_to("../../secret.txt"), "outside the source directory"),
        (lambda r: (r / "abs").symlink_to("/etc/hostname"), "link to the absolute path"),
        (lambda r: (r / "page#1.html").write_text("x"), "which a URL path cannot carry"),
        (lambda r: (r / "dirlink").symlink_to("css"), "is a link to a directory"),
        (lambda r: os.mkfifo(r / "pipe"), "FIFO"),
        (lambda r: (r / "caf\u00e9.txt").write_text("x"), "the same name once normalised"),
    ],
)
def test_manifest_refuses_before_any_request(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "secret.txt").write_text("outside")
    root = site(tmp_path / "out")
    make(root)
    with pytest.raises(UsageError) as info:
        build_manifest(root)
    assert message in str(info.value)


# -- uploads -----------------------------------------------------------------------------


class Platform(http.server.ThreadingHTTPServer):
    """Records each PUT (path, body, time) and answers from a script of responses."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[tuple[int, dict[str, str]] | str] = []
        self.received: dict[str, bytes] = {}
        self.attempts: list[tuple[float, str, int]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.delay = 0.0
        self.authorisations: list[str] = []
        self.content_types: list[list[str]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Platform

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        platform = self.server
        if "Authorization" in self.headers:
            platform.authorisations.append(self.headers["Authorization"])
        platform.content_types.append(self.headers.get_all("Content-Type") or [])
        with platform.lock:
            action = platform.script.pop(0) if platform.script else (200, {})
            platform.in_flight += 1
            platform.most_in_flight = max(platform.most_in_flight, platform.in_flight)
        time.sleep(platform.delay)
        with platform.lock:
            platform.in_flight -= 1
            status = 0 if action == "drop" else action[0]  # type: ignore[index]
            platform.attempts.append((time.monotonic(), self.path, status))
        if action == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status, headers = action  # type: ignore[misc]
        if status < 400:
            with platform.lock:
                platform.received[self.path] = body
        payload = b'{"message": "slow down"}' if status >= 400 else b"{}"
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def platform() -> Iterator[Platform]:
    server = Platform()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def uploads_for(root: Path, platform: Platform) -> list[Upload]:
    manifest = build_manifest(root)
    return [Upload(entry=f, url=f"{platform.url}/files/{f.path}") for f in manifest.files]


def test_every_file_arrives_byte_identical_within_the_concurrency(
    tmp_path: Path, platform: Platform
) -> None:
    root = tmp_path / "out"
    for i in range(40):
        (root / f"p{i}").mkdir(parents=True)
        (root / f"p{i}" / "index.html").write_bytes(os.urandom(2000 + i))
    platform.delay = 0.02
    seen: list[tuple[int, int, int, int]] = []
    with httpx.Client() as client:
        upload(
            client, uploads_for(root, platform), concurrency=3, progress=lambda *c: seen.append(c)
        )
    assert len(platform.received) == 40
    for i in range(40):
        assert (
            platform.received[f"/files/p{i}/index.html"] == (root / f"p{i}/index.html").read_bytes()
        )
    assert 1 < platform.most_in_flight <= 3
    assert seen[-1][:2] == (40, 40) and seen[-1][2] == seen[-1][3]


def test_429_and_503_are_retried_as_asked_and_reported(tmp_path: Path, platform: Platform) -> None:
    root = tmp_path / "out"
    root.mkdir()
    (root / "index.html").write_text("hi")
    platform.script = [
        (429, {"Retry-After": "1"}),
        (429, {"X-RateLimit-Reset": str(int(time.time()) + 2)}),
        (503, {}),
        "drop",
    ]
    heard: list[str] = []
    started = time.monotonic()
    with httpx.Client() as client:
        upload(
            client,
            uploads_for(root, platform),
            policy=RetryPolicy(backoff_s=0.05),
            on_retry=heard.append,
        )
    statuses = [status for _, _, status in platform.attempts]
    assert statuses == [429, 429, 503, 0, 200]
    gaps = [b[0] - a[0] for a, b in zip(platform.attempts, platform.attempts[1:], strict=False)]
    assert gaps[0] >= 0.95, "Retry-After: 1 was honoured"
    assert gaps[1] >= 0.9, "X-RateLimit-Reset was honoured"
    assert platform.received["/files/index.html"] == b"hi"
    assert time.monotonic() - started >= 2
    assert len(heard) == 4 and "429 slow down" in heard[0] and "as the server asked" in heard[0]


def test_a_4xx_that_cannot_succeed_fails_at_once(tmp_path: Path, platform: Platform) -> None:
    root = tmp_path / "out"
    root.mkdir()
    (root / "index.html").write_text("hi")
    platform.script = [(422, {})]
    with httpx.Client() as client, pytest.raises(UploadFailed) as info:
        upload(client, uploads_for(root, platform))
    assert len(platform.attempts) == 1
    assert info.value.status == 422 and info.value.path == "index.html"
    assert "refused: 422 slow down" in str(info.value)


def test_a_wait_past_the_deadline_fails_now(tmp_path: Path, platform: Platform) -> None:
    root = tmp_path / "out"
    root.mkdir()
    (root / "index.html").write_text("hi")
    platform.script = [(429, {"Retry-After": "120"})]
    started = time.monotonic()
    with httpx.Client() as client, pytest.raises(UploadFailed) as info:
        upload(client, uploads_for(root, platform), policy=RetryPolicy(deadline_s=10))
    assert time.monotonic() - started < 5
    assert "asked to wait 120s, past the deadline" in str(info.value)


def test_headers_large_files_and_closing_connections(tmp_path: Path, platform: Platform) -> None:
    """The client's headers go with each upload; a file over 1 MB is streamed whole."""
    root = tmp_path / "out"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(3_000_000))
    (root / "small.txt").write_text("small")
    platform.script = [(200, {"Connection": "close"})]  # the next request needs a new one
    heard: list[str] = []
    client_headers = {"Authorization": "Bearer k", "content-type": "application/json"}
    with httpx.Client(headers=client_headers) as client:
        upload(client, uploads_for(root, platform), concurrency=1, on_retry=heard.append)
    assert platform.content_types == [["application/octet-stream"]] * 2, "one, the upload's"
    assert heard == [], "a connection the server closes is not used again"
    assert platform.received["/files/big.bin"] == (root / "big.bin").read_bytes()
    assert platform.received["/files/small.txt"] == b"small"
    assert platform.authorisations == ["Bearer k", "Bearer k"]


@pytest.mark.parametrize("bypassed", [False, True], ids=["proxied", "NO_PROXY"])
def test_a_proxy_from_the_environment_is_used(
    tmp_path: Path, platform: Platform, monkeypatch: pytest.MonkeyPatch, bypassed: bool
) -> None:
    """Uploads honour HTTP(S)_PROXY and NO_PROXY as the adapter's httpx client does.

    The platform plays the proxy; the upload URL names a port where nothing listens, so a
    file arrives only through the proxy.
    """
    root = tmp_path / "out"
    root.mkdir()
    (root / "index.html").write_text("via proxy")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, platform.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "localhost" if bypassed else "")
    target = Upload(entry=build_manifest(root).files[0], url=f"http://localhost:{closed}/x")
    with httpx.Client() as client:
        if bypassed:
            with pytest.raises(UploadFailed):
                upload(client, [target], policy=RetryPolicy(deadline_s=1, attempts=2))
            assert platform.received == {}
        else:
            upload(client, [target])
            assert platform.received == {f"http://localhost:{closed}/x": b"via proxy"}


def test_progress_draws_only_on_a_terminal(tmp_path: Path) -> None:
    import io

    pipe = io.StringIO()
    line = ProgressLine("uploading", pipe)
    line(1, 2, 10, 20)
    line.close()
    assert pipe.getvalue() == "", "nothing in a pipe"
    shown = ProgressLine("uploading", io.StringIO(), enabled=True)
    text = shown.render(1, 2, 1024, 2048, shown.started + 1)
    assert text == "uploading: 1/2 files, 1.0 KB/2.0 KB (1.0 KB/s, 1s left)"


def test_coreutils_present() -> None:
    assert shutil.which("sha1sum") and shutil.which("sha256sum"), "coreutils is the oracle"


def test_a_file_hashed_for_the_release_is_not_read_again_unless_it_changed(
    tmp_path: Path,
) -> None:
    """The release's content digest leaves SHA-1s the manifest reuses — for unchanged files."""
    from wave_sdk import content

    root = site(tmp_path / "out")
    _until_settled(root)
    content.digest(root, strict=False)
    index = root / "index.html"
    stat = os.stat(index)
    assert content.recall(stat, "sha1") == hashlib.sha1(index.read_bytes()).hexdigest()
    index.write_bytes(b"<h1>HELLO</h1>\n")  # same size, new bytes
    assert content.recall(os.stat(index), "sha1") is None
    by_path = {f.path: f for f in build_manifest(root).files}
    assert by_path["index.html"].digest == hashlib.sha1(b"<h1>HELLO</h1>\n").hexdigest()
    for entry in by_path.values():
        assert entry.digest == hashlib.sha1(Path(entry.source).read_bytes()).hexdigest()


def _until_settled(root: Path) -> None:
    """Wait (bounded) until every file under ``root`` last changed over SETTLED_NS ago."""
    from wave_sdk import content

    newest = max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in root.rglob("*"))
    deadline = time.monotonic() + 10
    while time.time_ns() - newest <= content.SETTLED_NS:
        assert time.monotonic() < deadline, "the clock does not move"
        time.sleep(0.05)


def test_a_file_changed_just_before_it_was_hashed_is_not_remembered(tmp_path: Path) -> None:
    """File times tick coarsely: a file rewritten within the tick it was hashed in keeps its
    state, so a digest of a file that changed that recently is never reused."""
    from wave_sdk import content

    root = site(tmp_path / "out")
    _until_settled(root)
    index = root / "index.html"
    index.write_bytes(b"<h1>fresh</h1>\n")  # changed now: not settled when hashed
    content.digest(root, strict=False)
    assert content.recall(os.stat(index), "sha1") is None
    settled = root / "css" / "app.css"
    known = content.recall(os.stat(settled), "sha1")
    assert known == hashlib.sha1(settled.read_bytes()).hexdigest()
    by_path = {f.path: f for f in build_manifest(root).files}
    assert by_path["index.html"].digest == hashlib.sha1(b"<h1>fresh</h1>\n").hexdigest()


def test_a_file_swapped_for_a_link_after_the_walk_is_refused(tmp_path: Path) -> None:
    """The digest opens what the walk saw as a file without following a link."""
    from wave_sdk import content
    from wave_sdk.sources import Entry

    root = site(tmp_path / "out")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the release")
    index = root / "index.html"
    index.unlink()
    index.symlink_to(secret)
    with pytest.raises(UsageError, match=r"cannot read .*index\.html"):
        content._hash(root, [Entry("index.html", "file")])
