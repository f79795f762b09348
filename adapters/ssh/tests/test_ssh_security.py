"""Host keys, quoting and secrets, on real sshd hosts (the issue's scenario 3 and rules).

"Runs nothing" is checked the way an attacker would hope to succeed: each payload tries to
create a file named ``pwned`` somewhere (absolute path, the login user's home, the project),
and the tests look for it everywhere.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import threading
import time
from pathlib import Path

import pytest
import sshd_farm as kit
from wave_sdk_ssh.adapter import SSHAdapter
from wave_sdk_ssh.transport import SSHTransport

from wave_sdk.errors import AdapterError, ConfigError
from wave_sdk.reporting import ListReporter

pytest_plugins = ["wave_sdk.testing.plugin"]


def _pwned(*places: Path) -> list[Path]:
    return [p for place in places if place.exists() for p in place.rglob("*pwned*")]


def _places(farm: kit.Farm, project: kit.Project) -> list[Path]:
    return [farm.base, project.root, Path(farm.user.pw_dir)]


def test_unknown_host_key_is_refused(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    [stranger] = start_hosts(1, known=False)
    project.write(farm.target([stranger]))
    with pytest.raises(AdapterError) as info:
        project.wave().deploy("fleet", release=make_app("v1"))
    message = str(info.value)
    assert f"unknown host key for [127.0.0.1]:{stranger.port}" in message
    assert "refusing to connect" in message
    assert f"ssh-keyscan -p {stranger.port} 127.0.0.1 >> {farm.known_hosts}" in message
    assert stranger.logins() == 0, "no login happened"
    assert not (stranger.deploy_path / "releases").exists()


def test_changed_host_key_is_refused_as_such(
    farm: kit.Farm,
    start_hosts: kit.StartHosts,
    project: kit.Project,
    make_app: kit.MakeApp,
    tmp_path: Path,
) -> None:
    [host] = start_hosts(1, known=False)
    impostor = tmp_path / "other"
    kit._keygen(impostor)
    farm.trust(host, key=impostor)  # known_hosts records another key for this host
    project.write(farm.target([host]))
    with pytest.raises(AdapterError) as info:
        project.wave().deploy("fleet", release=make_app("v1"))
    assert f"the host key of [127.0.0.1]:{host.port} differs from the one recorded" in str(
        info.value
    )
    assert host.logins() == 0


def test_host_key_checking_is_off_only_when_configured(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    [stranger] = start_hosts(1, known=False)
    project.write(farm.target([stranger], verify_host_keys=False))
    reporter = ListReporter()
    project.wave(reporter=reporter).deploy("fleet", release=make_app("v1"))
    assert stranger.current() == "v1"
    assert any("host keys are NOT verified" in e.message for e in reporter.events)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1; touch pwned",
        "$(touch pwned)",
        "`touch pwned`",
        "127.0.0.1 && touch pwned",
        "-oProxyCommand=touch pwned",
        "host name",
    ],
)
def test_a_host_entry_with_shell_syntax_runs_nothing(
    farm: kit.Farm, project: kit.Project, address: str
) -> None:
    target = farm.target([])
    target["hosts"] = [{"address": address, "deploy_path": "/srv/app"}]
    project.write(target)
    result = project.cli("config", "validate")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "targets.web.hosts.0.address" in result.stderr + result.stdout
    assert "is not a host name or an IP address" in result.stderr + result.stdout
    with pytest.raises(ConfigError):
        project.wave().status("fleet")
    assert _pwned(*_places(farm, project)) == []


def test_a_release_id_with_shell_syntax_runs_nothing(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, tmp_path: Path
) -> None:
    [host] = start_hosts(1)
    kit.write_app(tmp_path / "v1", "v1")
    project.write(farm.target([host]))
    marker = farm.base / "pwned"
    for release in (f"$(touch {marker})", f"v1;touch {marker}", f"`touch {marker}`", "../v1"):
        result = project.cli(
            "deploy", "--env", "fleet", "--release", release, "--source", str(tmp_path / "v1")
        )
        assert result.returncode == 2, result.stderr
        assert "invalid release id" in result.stderr
    assert host.logins() == 0
    assert not (host.deploy_path / "releases").exists()
    assert _pwned(*_places(farm, project)) == []


def test_every_value_reaches_the_host_quoted(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    """A deploy path, a shared path, an environment value full of shell syntax: all literal."""
    [host] = start_hosts(1)
    odd = host.directory / 'it\'s $(touch pwned) `touch pwned` ; touch pwned "quoted" dir'
    odd.mkdir()
    farm.chown(odd)
    target = farm.target([host], shared=["$(touch pwned).env"])
    target["hosts"][0]["deploy_path"] = str(odd)
    target["env"] = {"ODD": "'; touch pwned; echo '$(touch pwned)"}
    project.write(target)
    project.wave().deploy("fleet", release=make_app("v1"))
    assert os.readlink(odd / "current") == str(odd / "releases" / "v1")
    assert (odd / "releases" / "v1" / "$(touch pwned).env").is_symlink()
    assert host.get("/")[1]["version"] == "v1"
    # Only our own odd names contain the word; no file was ever *named* pwned.
    assert not [p for p in _pwned(*_places(farm, project)) if p.name == "pwned"]


def test_transport_arguments_are_never_shell(farm: kit.Farm, start_hosts: kit.StartHosts) -> None:
    [host] = start_hosts(1)
    adapter = _adapter(farm, host)
    t = adapter.transport(adapter.hosts[0])
    try:
        payloads = ["$(touch pwned)", "`touch pwned`", "a; touch pwned", "'", '"', "\\", "*", "~"]
        result = t.run(["printf", "%s\\n", *payloads], cwd=str(host.directory))
        assert result.stdout.splitlines() == payloads
        t.write_text(str(host.directory / "$(touch pwned)"), "text; $(touch pwned)\n")
        assert t.read_text(str(host.directory / "$(touch pwned)")) == "text; $(touch pwned)\n"
        assert t.read_text(str(host.directory / "missing")) is None
    finally:
        adapter.close()
    assert not [p for p in _pwned(farm.base, Path(farm.user.pw_dir)) if p.name == "pwned"]


def test_secrets_never_on_a_remote_command_line(
    farm: kit.Farm,
    start_hosts: kit.StartHosts,
    project: kit.Project,
    make_app: kit.MakeApp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not in what the adapter sends, not in any process's argv on the host, not in output."""
    secret = "s3cr3t-" + os.urandom(6).hex()
    monkeypatch.setenv("API_TOKEN", secret)
    [host] = start_hosts(1)
    project.write(
        farm.target(
            [host],
            env={"API_TOKEN": "${API_TOKEN}"},
            # The build sees the secret too (and proves it without printing it).
            build=['test -n "$API_TOKEN" && echo ok > build-saw-token'],
        )
    )
    sent: list[str] = []
    real_run = SSHTransport.run

    def spy(self: SSHTransport, argv: list[str], **kwargs: object) -> object:
        sent.append(" ".join(argv))
        return real_run(self, argv, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SSHTransport, "run", spy)
    seen: set[str] = set()
    stop = threading.Event()

    def sample() -> None:  # every process's command line, as `ps` shows them
        while not stop.is_set():
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    with contextlib.suppress(OSError):
                        seen.add(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    reporter = ListReporter()
    try:
        project.wave(reporter=reporter).deploy("fleet", release=make_app("v1"))
    finally:
        stop.set()
        sampler.join()
    assert host.get("/")[1]["token"] == "set"
    assert (host.deploy_path / "releases" / "v1" / "build-saw-token").read_text() == "ok\n"
    assert sent and not [line for line in sent if secret in line]
    assert len(seen) > 20 and not [line for line in seen if secret in line]
    assert not [e for e in reporter.events if secret in e.message]
    ecosystem = host.deploy_path / ".wave-pm2-web.json"
    assert stat.S_IMODE(ecosystem.stat().st_mode) == 0o600
    assert secret in ecosystem.read_text()  # where pm2 reads it: a file only its user reads


def _adapter(farm: kit.Farm, host: kit.SSHHost) -> SSHAdapter:
    from wave_sdk_ssh.config import SSHTarget

    from wave_sdk.adapter import TargetContext

    config = SSHTarget.model_validate(farm.target([host]))
    context = TargetContext(
        target="web",
        environment="fleet",
        project="p",
        root=farm.base,
        state_dir=farm.base,
        reporter=ListReporter(),
    )
    return SSHAdapter(config=config, context=context)


def test_the_release_id_check_is_the_core_one() -> None:
    from wave_sdk.models import check_release_id

    for bad in ("$(x)", "a b", "a;b", "`x`", "..", "-rf"):
        with pytest.raises(ValueError, match=re.escape("invalid release id")):
            check_release_id(bad)


def test_a_source_link_out_of_the_tree_is_refused_before_any_host_is_touched(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    [host] = start_hosts(1)
    project.write(farm.target([host]))
    release = make_app("v1")
    assert release.source is not None
    (release.source.parent / "secret.txt").write_text("outside")
    (release.source / "secret.txt").symlink_to("../secret.txt")
    with pytest.raises(AdapterError) as info:  # the deploy failed: the pipeline says so
        project.wave().deploy("fleet", release=release)
    assert "'secret.txt' is a link to '../secret.txt', outside the source directory" in str(
        info.value
    )
    assert host.logins() == 0, "nothing was uploaded, no host was even connected to"
    assert not (host.deploy_path / "releases").exists()
