"""The peers of bench/ssh_peers.py really deploy, so the bench compares tools doing the same work.

Capistrano's Capfile, the Ansible playbooks and the floor's script each put the new release
live on every host — the app answers it over HTTP — keep 3 releases, and roll back.

Needs ``cap`` (Debian's capistrano) and ``ansible-playbook`` (the dev extra); without them
the test skips with the reason, and fails under ``WAVE_REQUIRE_REAL=1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import peer_tools
import pytest
import sshd_farm as kit

from wave_sdk.testing import missing


@pytest.fixture
def two_hosts(farm: kit.Farm, start_hosts: kit.StartHosts) -> list[kit.SSHHost]:
    return start_hosts(2)


@pytest.fixture
def tools(
    farm: kit.Farm, two_hosts: list[kit.SSHHost], tmp_path: Path
) -> Iterator[peer_tools.Peers]:
    found = peer_tools.Peers(farm, two_hosts, tmp_path / "peers")
    try:
        yield found
    finally:
        found.close()


def _versions(hosts: list[kit.SSHHost]) -> list[str]:
    return [str(h.get("/")[1]["version"]) for h in hosts]


@pytest.mark.parametrize("tool", ["capistrano", "ansible", "floor"])
def test_peer_deploys_then_rolls_back(
    tool: str, two_hosts: list[kit.SSHHost], tools: peer_tools.Peers, tmp_path: Path
) -> None:
    if tool == "capistrano" and peer_tools.find_cap() is None:
        missing("cap", "install Debian's capistrano (scripts/install-test-deps)")
    if tool == "ansible" and peer_tools.find_ansible() is None:
        missing("ansible-playbook", "install the dev extra (make setup): ansible-core")
    if tool == "floor":
        tools.open_floor()
    ids = ["20260101000001", "20260101000002", "20260101000003", "20260101000004"]
    for rid in ids:
        tar = peer_tools.release_tar(kit.write_app(tmp_path / rid, rid), tmp_path / f"{rid}.tar")
        if tool == "capistrano":
            run = tools.cap("deploy", rid, tar)
        elif tool == "ansible":
            run = tools.ansible("deploy.yml", rid, tar)
        else:
            run = tools.floor(rid, tar)
        assert run.ok, run.output[-2000:]
        assert _versions(two_hosts) == [rid, rid]
        for host in two_hosts:
            release = host.deploy_path / "releases" / rid
            assert host.current() == rid
            assert (release / "logs").resolve() == host.deploy_path / "shared" / "logs"
            assert (release / "REVISION").read_text().strip() == rid
            status, body = host.get("/api/health")
            assert (status, body["status"]) == (200, "ok")
    for host in two_hosts:  # keep 3
        kept = sorted(p.name for p in (host.deploy_path / "releases").iterdir())
        assert kept == ids[1:], kept

    if tool == "capistrano":
        back = tools.cap("deploy:rollback", ids[-1])
    elif tool == "ansible":
        back = tools.ansible("rollback.yml", ids[-1])
    else:
        back = tools.floor(ids[-1], None)
    assert back.ok, back.output[-2000:]
    assert [h.current() for h in two_hosts] == [ids[-2]] * 2
    assert _versions(two_hosts) == [ids[-2]] * 2
