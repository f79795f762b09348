"""What a release is made of: a source tree walked once, refused before anything is copied.

Real files, links, FIFOs, sockets and device nodes on this machine, staged by the real
release layout over the real local transport.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from wave_sdk.content import digest
from wave_sdk.errors import AdapterError, UsageError
from wave_sdk.releases import ReleaseLayout
from wave_sdk.sources import walk
from wave_sdk.transport import LocalTransport


def source_tree(base: Path) -> Path:
    """An application with a file, a subdirectory, and links that stay inside it."""
    src = base / "src"
    (src / "static" / "css").mkdir(parents=True)
    (src / "app.py").write_text("print('app')\n")
    (src / "static" / "css" / "site.css").write_text("body{}\n")
    (src / "assets").symlink_to("static")  # a directory link, relative
    (src / "static" / "style.css").symlink_to("css/site.css")
    (src / "static" / "up.py").symlink_to("../app.py")  # climbs, but stays inside
    return src


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


def make_socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))


def make_device(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero's numbers


def link_to_outside_secret(path: Path) -> None:
    secret = path.parent.parent.parent / "secret.txt"
    secret.write_text("outside secret\n")
    path.symlink_to(os.path.relpath(secret, path.parent))


def link_to_dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def link_absolute_into_the_tree(path: Path) -> None:
    path.symlink_to(path.parent.parent / "app.py")


def link_out_through_a_link(path: Path) -> None:
    # `here` points at the tree's root, so `here/..` is its parent: inside as written
    # (here/.. normalises to .), outside on disk.
    (path.parent / "here").symlink_to("..")
    path.symlink_to("here/..")


BAD: dict[str, tuple[Callable[[Path], None], str]] = {
    "fifo": (make_fifo, "is a FIFO"),
    "socket": (make_socket, "is a socket"),
    "device": (make_device, "is a character device"),
    "secret-link": (link_to_outside_secret, "outside the source directory"),
    "dev-zero-link": (link_to_dev_zero, "absolute path '/dev/zero'"),
    "absolute-link": (link_absolute_into_the_tree, "relative links only"),
    "link-through-link": (link_out_through_a_link, "outside the source directory"),
}


def test_walk_lists_files_directories_and_inside_links(tmp_path: Path) -> None:
    src = source_tree(tmp_path)
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("ref\n")
    entries = {e.path: (e.kind, e.target) for e in walk(src, exclude=(".git",))}
    assert entries == {
        "app.py": ("file", ""),
        "assets": ("link", "static"),
        "static": ("dir", ""),
        "static/css": ("dir", ""),
        "static/css/site.css": ("file", ""),
        "static/style.css": ("link", "css/site.css"),
        "static/up.py": ("link", "../app.py"),
    }


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_entry_is_refused_before_anything_is_copied(tmp_path: Path, kind: str) -> None:
    make, says = BAD[kind]
    src = source_tree(tmp_path)
    make(src / "static" / "bad")
    layout = ReleaseLayout(LocalTransport(), str(tmp_path / "deploy"))
    layout.ensure()
    with pytest.raises(UsageError) as info:
        layout.stage("v1", src)
    message = str(info.value)
    assert "\n" not in message
    assert "'static/bad'" in message and says in message, message
    assert " — " in message and ("remove it" in message or "replace the link" in message)
    assert os.listdir(tmp_path / "deploy" / "releases") == []  # not even a temporary copy
    with pytest.raises(UsageError):  # the digest of a release without a commit: the same walk
        digest(src)


def test_several_bad_entries_name_the_first_and_count_the_rest(tmp_path: Path) -> None:
    src = source_tree(tmp_path)
    for name in ("a", "b", "c"):
        os.mkfifo(src / name)
    with pytest.raises(UsageError) as info:
        walk(src)
    assert "'a' is a FIFO (named pipe) (and 2 more)" in str(info.value)


def test_links_inside_the_tree_stay_links_in_the_release(tmp_path: Path) -> None:
    src = source_tree(tmp_path)
    layout = ReleaseLayout(LocalTransport(), str(tmp_path / "deploy"))
    layout.ensure()
    release = Path(layout.stage("v1", src))
    assert os.readlink(release / "assets") == "static"
    assert os.readlink(release / "static" / "style.css") == "css/site.css"
    assert (release / "assets" / "css" / "site.css").read_text() == "body{}\n"
    assert (release / "static" / "up.py").resolve() == (release / "app.py")
    assert not (release / "static" / "css" / "site.css").is_symlink()
    assert layout.releases() == ["v1"]


def test_a_failed_copy_leaves_no_temporary_directory(tmp_path: Path) -> None:
    """A real copy failure half-way: a path that fits the source but not the release root.

    The source path stays under PATH_MAX (4096) while the release root is long enough that
    the copy of its deepest directory goes over, so ``mkdir`` fails with ENAMETOOLONG after
    the first directories were copied.
    """
    src = tmp_path / "s"
    src.mkdir()
    (src / "first.txt").write_text("copied before the failure\n")
    deep = src
    while len(str(deep)) < 3900:
        deep = deep / ("d" * 200)
    deep.mkdir(parents=True)
    (deep / "last.txt").write_text("never copied\n")
    root = tmp_path / ("r" * 200) / ("r" * 200)
    layout = ReleaseLayout(LocalTransport(), str(root))
    layout.ensure()
    with pytest.raises(AdapterError) as info:
        layout.stage("v1", src)
    assert "File name too long" in str(info.value)
    assert os.listdir(root / "releases") == []


def test_the_digest_covers_what_would_be_copied(tmp_path: Path) -> None:
    src = source_tree(tmp_path)
    first = digest(src)
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("ref\n")
    (src / "report.md").write_text("wave's own file\n")
    assert digest(src, frozenset({(src / "report.md").resolve()})) == first, "a left-out name"
    (src / "assets").unlink()
    (src / "assets").symlink_to("static/css")
    assert digest(src) != first, "a link's target is part of the release"
    (src / "report.md").unlink()
    second = digest(src)
    (src / "app.py").chmod(0o755)
    assert digest(src) != second, "the executable bit is part of the release"
