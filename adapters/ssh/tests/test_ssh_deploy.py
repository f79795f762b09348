"""Deploys over real sshd to hosts whose app pm2 runs: the issue's scenarios 1, 2 and 4.

Every host is an ``sshd -D`` on its own 127.0.0.1 port with its own pm2 daemon; the app is
tests/app (Node), built on each host with ``npm ci`` and ``npm run build``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
import sshd_farm as kit

from wave_sdk.errors import AdapterError, RollbackFailed
from wave_sdk.reporting import Event

pytest_plugins = ["wave_sdk.testing.plugin"]


def _versions(hosts: list[kit.SSHHost]) -> list[str]:
    return [h.get("/")[1]["version"] for h in hosts]


def _pm2(host: kit.SSHHost, farm: kit.Farm) -> list[dict[str, Any]]:
    assert farm.pm2 is not None
    return [p for p in host.pm2_list(farm.pm2, farm.user.pw_name) if p["name"] == "web"]


def test_v1_then_v2_to_three_hosts_then_rollback(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, tmp_path: Path
) -> None:
    hosts = start_hosts(3)
    for version in ("v1", "v2"):
        kit.write_app(tmp_path / version, version)
    project.write(
        farm.target(
            hosts,
            build=["npm ci --no-audit --no-fund", "npm run build"],
            shared=["logs"],
            env={"API_TOKEN": "${API_TOKEN}"},
            pm2={"app": "web", "script": "server.js", "instances": 2, "exec_mode": "cluster"},
        ),
        endpoints=[],
    )
    secret = {"API_TOKEN": "tok-5f2e9c1d"}

    first = project.cli(
        "deploy", "--env", "fleet", "--release", "v1", "--source", str(tmp_path / "v1"), env=secret
    )
    assert first.returncode == 0, first.stderr
    assert [h.current() for h in hosts] == ["v1"] * 3
    assert _versions(hosts) == ["v1"] * 3
    logins = [h.logins() for h in hosts]

    second = project.cli(
        "deploy", "--env", "fleet", "--release", "v2", "--source", str(tmp_path / "v2"), env=secret
    )
    assert second.returncode == 0, second.stderr
    assert [h.current() for h in hosts] == ["v2"] * 3
    for host in hosts:
        status, body = host.get("/")
        assert (status, body["version"], body["release"]) == (200, "v2", "v2")
        assert body["built"] == f"built v2 in {host.deploy_path / 'releases' / 'v2'}"
        assert body["cwd"] == str(host.deploy_path / "releases" / "v2")
        assert body["token"] == "set"  # the secret reached the app …
        assert (host.deploy_path / "releases" / "v2" / "logs").is_symlink()
        revision = (host.deploy_path / "releases" / "v2" / "REVISION").read_text()
        assert revision == "v2\n"
        assert "v2 deploy" in (host.deploy_path / "revisions.log").read_text()
    assert "tok-5f2e9c1d" not in second.stdout + second.stderr  # … and no output
    # One connection per host for the whole deploy (gate check, stage, switch, verify).
    assert [h.logins() - n for h, n in zip(hosts, logins, strict=True)] == [1, 1, 1]

    status = project.cli("status", "--env", "fleet", "--json", env=secret)
    assert status.returncode == 0, status.stderr
    [target] = json.loads(status.stdout)["fleet"]["targets"]
    assert (target["state"], target["current"]) == ("running", "v2")
    assert target["releases"][:2] == ["v2", "v1"]
    for host in hosts:
        seen = target["details"]["hosts"][host.name]
        assert seen["reachable"] is True and seen["current"] == "v2"
        assert len(seen["processes"]) == 2
        for process in seen["processes"]:
            assert process["status"] == "online"
            assert process["restarts"] >= 0
            assert process["memory"] > 1_000_000
            assert process["uptime_s"] >= 0
        assert {p["pid"] for p in seen["processes"]} == {p["pid"] for p in _pm2(host, farm)}
        assert seen["disk"]["free"] > 0
    text = project.cli("status", "--env", "fleet", env=secret)
    assert "web (ssh): running, current release v2" in text.stdout

    back = project.cli("rollback", "--env", "fleet", env=secret)
    assert back.returncode == 0, back.stderr
    assert "v2 → v1" in back.stdout
    assert [h.current() for h in hosts] == ["v1"] * 3
    assert _versions(hosts) == ["v1"] * 3
    for host in hosts:
        assert (host.deploy_path / "releases" / "v2").is_dir(), "a rollback prunes nothing"
        assert (
            (host.deploy_path / "revisions.log")
            .read_text()
            .splitlines()[-1]
            .endswith("v1 rollback")
        )


def test_rolling_batches_stop_at_a_failed_host_and_roll_back(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, tmp_path: Path
) -> None:
    hosts = start_hosts(5)
    kit.write_app(tmp_path / "v1", "v1")
    # v2 needs DATABASE_URL; host 4 lacks it, so its health check answers 503.
    kit.write_app(tmp_path / "v2", "v2", requires=["DATABASE_URL"])
    target = farm.target(hosts, batch_size=2, health_timeout=3)
    for host, entry in zip(hosts, target["hosts"], strict=True):
        if host is not hosts[3]:
            entry["env"] = {"DATABASE_URL": f"postgres://db/{host.name}"}
    project.write(target)
    first = project.cli(
        "deploy", "--env", "fleet", "--release", "v1", "--source", str(tmp_path / "v1")
    )
    assert first.returncode == 0, first.stderr
    before = {h.name: _pm2(h, farm) for h in hosts}
    log5 = (hosts[4].deploy_path / "revisions.log").read_text()

    run = project.cli(
        "deploy", "--env", "fleet", "--release", "v2", "--source", str(tmp_path / "v2"), "--json"
    )

    assert run.returncode == 6, run.stderr
    error = json.loads(run.stdout)["message"]
    assert "deploy of v2 failed on 1 of 5 hosts" in error
    assert "web-4: health check failed" in error and "answered 503" in error
    assert "web-1, web-2, web-3: rolled back to v1" in error
    assert "web-5: not touched" in error
    assert [h.current() for h in hosts] == ["v1"] * 5
    assert _versions(hosts) == ["v1"] * 5
    # Host 5 was never touched: no release, no switch, the same process.
    assert not (hosts[4].deploy_path / "releases" / "v2").exists()
    assert (hosts[4].deploy_path / "revisions.log").read_text() == log5
    after5 = _pm2(hosts[4], farm)
    assert [p["pid"] for p in after5] == [p["pid"] for p in before[hosts[4].name]]
    assert (
        after5[0]["pm2_env"]["restart_time"] == before[hosts[4].name][0]["pm2_env"]["restart_time"]
    )
    # Hosts 1-4 went to v2 and back: their revisions log says so.
    for host in hosts[:4]:
        log = (host.deploy_path / "revisions.log").read_text().splitlines()
        assert log[-2].endswith("v2 deploy") and log[-1].endswith("v1 rollback"), log
    # The batches went in order: host 3 and 4 only after hosts 1 and 2 were live.
    events = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    messages = [e.get("message", "") for e in events]
    assert not any("batch 3/3" in m for m in messages), "the third batch never started"
    assert next(i for i, m in enumerate(messages) if "web-2: v1 → v2, healthy" in m) < next(
        i for i, m in enumerate(messages) if "web-3: staging v2" in m
    )
    history = project.cli("history", "--env", "fleet", "--json")
    assert json.loads(history.stdout)[-1]["outcome"] == "rolled_back"


def test_connection_killed_mid_deploy_leaves_the_host_on_its_release(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    hosts = start_hosts(3)
    project.write(farm.target(hosts, build=["sleep 2"]))
    wave = project.wave()
    wave.deploy("fleet", release=make_app("v1"))

    victim = hosts[1]
    killed = threading.Event()

    class KillDuringBuild:
        """Kill web-2's sshd (and its sessions) when web-2 starts building."""

        def emit(self, event: Event) -> None:
            if event.message == f"{victim.name}: sleep 2" and not killed.is_set():
                killed.set()
                threading.Timer(0.5, victim.kill_sshd).start()

    with pytest.raises(AdapterError) as info:
        project.wave(reporter=KillDuringBuild()).deploy("fleet", release=make_app("v2"))

    assert killed.is_set()
    message = str(info.value)
    assert "web-2: connection lost during sh" in message
    assert "not switched: still on v1" in message
    assert [h.current() for h in hosts] == ["v1"] * 3
    assert [h.get("/")[1]["version"] for h in (hosts[0], hosts[2])] == ["v1", "v1"]
    # The others staged v2 completely but were not switched; the victim's v2 never got its
    # REVISION (it was being built in place), so it is no release anyone can switch to.
    assert "web-1, web-3: v2 staged but not switched: still on v1" in message
    assert not (victim.deploy_path / "releases" / "v2" / "REVISION").exists()

    farm.restart(victim)
    report = project.wave().deploy("fleet", release=make_app("v2"))
    assert report.outcome == "succeeded"
    assert [h.current() for h in hosts] == ["v2"] * 3
    with project.wave().open_target("web", "fleet") as adapter:
        assert adapter.releases()[:2] == ["v2", "v1"]  # the dead upload's leftovers are not


def test_git_source_fetched_on_the_hosts(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, tmp_path: Path
) -> None:
    import subprocess

    hosts = start_hosts(2)
    repo = farm.base / "repo"  # where the hosts' user can read it
    kit.write_app(repo, "g1")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "g1"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    farm.chown(repo)  # git refuses a repository that another user owns
    project.write(farm.target(hosts, git={"repo": str(repo)}))
    from wave_sdk import Release

    project.wave().deploy("fleet", release=Release(id="g1", commit=commit))
    assert [h.current() for h in hosts] == ["g1", "g1"]
    assert [h.get("/")[1]["version"] for h in hosts] == ["g1", "g1"]
    assert all((h.deploy_path / "repo" / "HEAD").exists() for h in hosts)
    with pytest.raises(AdapterError) as info:
        project.wave().deploy("fleet", release=Release(id="g2", commit="0" * 40))
    assert "is not a commit of" in str(info.value)
    assert [h.current() for h in hosts] == ["g1", "g1"]


def test_status_names_an_unreachable_host(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    hosts = start_hosts(2)
    project.write(farm.target(hosts))
    project.wave().deploy("fleet", release=make_app("v1"))
    hosts[1].kill_sshd()
    [report] = project.wave().status("fleet")
    assert (report.state, report.current) == ("degraded", "v1")
    down = report.details["hosts"]["web-2"]
    assert down["reachable"] is False and "cannot connect" in down["error"]
    assert report.details["hosts"]["web-1"]["processes"][0]["status"] == "online"


def test_a_reload_that_keeps_running_the_old_code_is_caught(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    """A reload that leaves the old code running is refused and rolled back.

    pm2 reloads an app by name and keeps its script path: started by hand elsewhere, the
    app would go on running the old code — healthy, and wrong. The adapter checks which
    directory each process runs in.
    """
    [host] = start_hosts(1)
    project.write(farm.target([host]))
    project.wave().deploy("fleet", release=make_app("v1"))
    elsewhere = kit.write_app(host.directory / "by-hand", "v1")
    farm.chown(elsewhere)
    assert farm.pm2 is not None
    user = farm.user.pw_name
    host.pm2_run(farm.pm2, user, "delete", "web")
    host.pm2_run(
        farm.pm2,
        user,
        "start",
        str(elsewhere / "server.js"),
        "--name",
        "web",
        "--cwd",
        str(elsewhere),
        PORT=str(host.app_port),
    )
    with pytest.raises(AdapterError) as info:
        project.wave().deploy("fleet", release=make_app("v2"))
    message = str(info.value)
    assert f"still runs {elsewhere}, not {host.deploy_path / 'releases' / 'v2'}" in message
    assert "rolled back to v1" in message
    assert host.current() == "v1"


def test_a_failed_first_deploy_is_undone(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    hosts = start_hosts(2)
    project.write(farm.target(hosts, health_timeout=2))
    with pytest.raises(AdapterError) as info:
        project.wave().deploy("fleet", release=make_app("v1", requires=["DATABASE_URL"]))
    assert "undone (no earlier release: app stopped, current removed)" in str(info.value)
    assert [h.current() for h in hosts] == [None, None]
    assert [_pm2(h, farm) for h in hosts] == [[], []]


def test_rollback_starts_only_when_every_host_answers(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    hosts = start_hosts(2)
    project.write(farm.target(hosts))
    for version in ("v1", "v2"):
        project.wave().deploy("fleet", release=make_app(version))
    hosts[1].kill_sshd()
    with pytest.raises(RollbackFailed) as info:  # the core's word for "a human is needed"
        project.wave().rollback("fleet")
    assert "rollback not started: web-2: cannot connect to" in str(info.value)
    assert hosts[0].current() == "v2"
    farm.restart(hosts[1])
    [result] = project.wave().rollback("fleet")
    assert (result.from_release, result.to_release) == ("v2", "v1")
    assert [h.current() for h in hosts] == ["v1", "v1"]


def test_connection_dropped_after_the_switch_is_rolled_back_over_a_new_one(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    """A connection lost after the switch: the host is put back over a new connection.

    The connection dies during web-2's reload: web-2 is on v2 already, so the adapter
    connects again — once, to put it back — and reports it rolled back.
    """
    hosts = start_hosts(2)
    project.write(farm.target(hosts))
    project.wave().deploy("fleet", release=make_app("v1"))
    victim = hosts[1]

    class DropDuringReload:
        def emit(self, event: Event) -> None:
            if event.message == f"{victim.name}: reloading pm2":
                victim.kill_sessions()

    with pytest.raises(AdapterError) as info:
        project.wave(reporter=DropDuringReload()).deploy("fleet", release=make_app("v2"))
    message = str(info.value)
    assert "web-2: connection lost during" in message and "rolled back to v1" in message
    assert [h.current() for h in hosts] == ["v1", "v1"]
    assert [h.get("/")[1]["version"] for h in hosts] == ["v1", "v1"]


def test_an_unreachable_host_stops_the_deploy_before_anything_changes(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    hosts = start_hosts(3)
    project.write(farm.target(hosts))
    project.wave().deploy("fleet", release=make_app("v1"))
    hosts[2].kill_sshd()
    result = project.cli(
        "deploy", "--env", "fleet", "--release", "v2", "--source", str(make_app("v2").source)
    )
    assert result.returncode == 6, result.stderr
    assert "web-3: cannot connect to" in result.stderr
    assert [h.current() for h in hosts[:2]] == ["v1", "v1"]
    assert not any((h.deploy_path / "releases" / "v2").exists() for h in hosts)


def test_status_of_a_fresh_host_changes_nothing(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project
) -> None:
    [host] = start_hosts(1)
    project.write(farm.target([host]))
    [report] = project.wave().status("fleet")
    assert (report.state, report.current, report.releases) == ("absent", None, ())
    seen = report.details["hosts"]["web-1"]
    assert seen["app"] == "pm2 is not running" and seen["processes"] == []
    assert not (host.pm2_home / "pm2.pid").exists(), "status started no pm2 daemon"
    assert list(host.deploy_path.iterdir()) == []


def test_a_changed_instance_count_is_applied(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    """`pm2 reload` keeps the number of processes it had; the adapter scales to the new one."""
    [host] = start_hosts(1)
    cluster = {"app": "web", "script": "server.js", "exec_mode": "cluster"}
    project.write(farm.target([host], pm2={**cluster, "instances": 2}))
    project.wave().deploy("fleet", release=make_app("v1"))
    assert len(_pm2(host, farm)) == 2
    project.write(farm.target([host], pm2={**cluster, "instances": 3}))
    project.wave().deploy("fleet", release=make_app("v2"))
    processes = _pm2(host, farm)
    assert [p["pm2_env"]["status"] for p in processes] == ["online"] * 3
    assert {host.get("/")[1]["version"] for _ in range(6)} == {"v2"}


def test_a_deploy_and_a_rollback_take_few_round_trips_per_host(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    """Each layout step is one remote script (wave_sdk_ssh/layout.py): what sshd counts."""
    hosts = start_hosts(2)
    project.write(farm.target(hosts, shared=["logs"], keep=2), endpoints=[])
    wave = project.wave()
    for version in ("v1", "v2"):
        wave.deploy("fleet", release=make_app(version))
    before = [h.sessions() for h in hosts]
    project.wave().deploy("fleet", release=make_app("v3"))  # stages, switches, prunes v1
    assert _versions(hosts) == ["v3", "v3"]
    assert [sorted(p.name for p in (h.deploy_path / "releases").iterdir()) for h in hosts] == [
        ["v2", "v3"]
    ] * 2
    # The gate's look, inspect, upload, switch, pm2, health, processes, prune (survey and
    # rm), the runbook's two health rounds: 11 (it was 24 with a command per file step).
    deployed = [h.sessions() - n for h, n in zip(hosts, before, strict=True)]
    assert max(deployed) <= 11, deployed

    before = [h.sessions() for h in hosts]
    project.wave().rollback("fleet")
    assert _versions(hosts) == ["v2", "v2"]
    # The brief status before (survey and processes together), inspect, switch, pm2,
    # health, the brief status after, the two health rounds: 8 (it was 20, then 10).
    back = [h.sessions() - n for h, n in zip(hosts, before, strict=True)]
    assert max(back) <= 8, back


def test_the_pipeline_reads_pm2_pid_files_and_wave_status_asks_pm2(
    farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project, make_app: kit.MakeApp
) -> None:
    """Around a rollback the core reads a brief status: no `pm2 jlist` on any host.

    `pm2 jlist` starts Node on the host; `wave status`, for a person, asks pm2 for memory
    and restarts all the same.
    """
    assert farm.pm2 is not None
    hosts = start_hosts(2)
    # The hosts' pm2, through a wrapper noting each command (outside pytest's 0700 tmp,
    # where the login user could not write).
    spy = Path(tempfile.mkdtemp(prefix="wave-pm2-spy-", dir="/tmp"))
    try:
        spy.chmod(0o777)
        calls = spy / "calls"
        wrapper = spy / "pm2"
        wrapper.write_text(f'#!/bin/sh\necho "$1" >> {calls}\nexec {farm.pm2} "$@"\n')
        wrapper.chmod(0o755)
        pm2 = {"app": "web", "script": "server.js", "command": str(wrapper)}
        project.write(farm.target(hosts, pm2=pm2), endpoints=[])
        for version in ("v1", "v2"):
            project.wave().deploy("fleet", release=make_app(version))
        calls.write_text("")
        calls.chmod(0o666)
        project.wave().rollback("fleet")
        assert _versions(hosts) == ["v1", "v1"]
        made = calls.read_text().split()
        assert made.count("startOrReload") == 2, made  # the wrapper is what the hosts ran
        assert "jlist" not in made, made

        [report] = project.wave().status("fleet")
        assert calls.read_text().split().count("jlist") == 2
        assert (report.current, report.state) == ("v1", "running")
        for host in hosts:
            [process] = report.details["hosts"][host.name]["processes"]
            assert process["memory"] > 1_000_000 and process["restarts"] >= 0
    finally:
        shutil.rmtree(spy, ignore_errors=True)
