"""The tools wave's SSH adapter is compared with, deploying the test app to a farm's hosts.

* Capistrano 3 (``cap``, Debian's ``capistrano``) with bench/peers/capistrano's Capfile;
* Ansible (``ansible-playbook`` from the pinned ``ansible-core`` of the dev extra) with
  bench/peers/ansible's playbooks: pipelining, forks = hosts, ControlPersist;
* the floor: one shell script per host doing the same steps, sent over an OpenSSH
  ControlMaster connection opened beforehand, every host at once.

Each does what wave's deploy does on every host — upload the release into
``releases/<id>``, link ``shared/logs``, write ``REVISION``, switch ``current``, write
pm2's ecosystem file and ``startOrReload`` it, wait for the health URL, keep 3 releases —
and its rollback (``current`` back, reload, health). Used by bench/ssh_peers.py and by
test_peer_tools.py, which checks that they really deploy.

Every process started here is stopped by its pid (:meth:`Peers.close`): the floor's
ControlMaster connections, and the master connections Ansible's ControlPersist leaves
behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sshd_farm as kit

ROOT = Path(__file__).resolve().parents[3]
PEERS = ROOT / "bench" / "peers"
KEEP = 3

FLOOR_DEPLOY = r"""
set -e
d=$1 id=$2 r=$1/releases/$2
mkdir -p "$d/releases" "$d/shared/logs"
rm -rf "$r.tmp"; mkdir "$r.tmp"
tar -x -f - -C "$r.tmp"
ln -sfn "$d/shared/logs" "$r.tmp/logs"
echo "$id" > "$r.tmp/REVISION"
mv -T "$r.tmp" "$r"
ln -sfn "$r" "$d/current.tmp" && mv -T "$d/current.tmp" "$d/current"
"""

FLOOR_ROLLBACK = r"""
set -e
d=$1
cur=$(basename "$(readlink "$d/current")")
id=$(cd "$d/releases" && ls -1t | grep -vx "$cur" | head -n 1)
[ -n "$id" ]
ln -sfn "$d/releases/$id" "$d/current.tmp" && mv -T "$d/current.tmp" "$d/current"
"""

FLOOR_RELOAD = r"""
app='{"name":"web","script":"server.js","cwd":"%s/current","args":[],"instances":1,'
app="$app"'"exec_mode":"fork","merge_logs":true,"env":{"PORT":"%s","WAVE_RELEASE":"%s"}}'
printf "{\"apps\":[$app]}\n" "$d" "$3" "$id" > "$d/.wave-pm2-web.json"
cd "$d/current" && pm2 startOrReload "$d/.wave-pm2-web.json" --update-env >/dev/null
end=$(( $(date +%s) + 15 ))
while :; do
  c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -- "http://127.0.0.1:$3/api/health") || :
  case "$c" in 2??|3??) break;; esac
  [ "$(date +%s)" -ge "$end" ] && { echo "health answered $c" >&2; exit 1; }
  sleep 0.2
done
"""

FLOOR_PRUNE = r"""
cd "$d/releases" && ls -1t | tail -n +$(( $4 + 1 )) | xargs -r rm -rf --
"""


def find_cap() -> str | None:
    return shutil.which("cap")


def find_ansible() -> str | None:
    local = Path(sys.executable).parent / "ansible-playbook"
    return str(local) if local.exists() else shutil.which("ansible-playbook")


def release_tar(source: Path, dest: Path) -> Path:
    """The release as a tar file of its top-level entries.

    No ``.`` entry: its mtime would date the release directory by the source instead of
    by its upload, and Capistrano and the floor order releases by mtime.
    """
    with tarfile.open(dest, "w") as tar:
        for entry in sorted(source.iterdir()):
            tar.add(entry, arcname=entry.name)
    return dest


@dataclass
class Run:
    """One tool's run: wall time and the client's CPU (the tool's processes, reaped)."""

    wall_s: float
    client_cpu_s: float
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Peers:
    """Capistrano, Ansible and the floor, set up for ``hosts`` of ``farm``."""

    def __init__(self, farm: kit.Farm, hosts: list[kit.SSHHost], work: Path) -> None:
        self.farm, self.hosts, self.work = farm, hosts, work
        work.mkdir(parents=True, exist_ok=True)
        self.hosts_file = work / "hosts.json"
        self.hosts_file.write_text(
            json.dumps(
                [
                    {
                        "name": h.name,
                        "address": h.address,
                        "port": h.port,
                        "deploy_path": str(h.deploy_path),
                        "app_port": h.app_port,
                    }
                    for h in hosts
                ]
            )
        )
        self.inventory = work / "inventory.json"
        self.inventory.write_text(
            json.dumps(
                {
                    "farm": {
                        "hosts": {
                            h.name: {
                                "ansible_host": h.address,
                                "ansible_port": h.port,
                                "deploy_path": str(h.deploy_path),
                                "app_port": h.app_port,
                            }
                            for h in hosts
                        },
                        "vars": {
                            "ansible_user": farm.user.pw_name,
                            "ansible_ssh_private_key_file": str(farm.client_key),
                        },
                    }
                }
            )
        )
        # ssh's control sockets: a short directory (a socket path has 108 bytes at most).
        self.control = Path(tempfile.mkdtemp(prefix="wp-", dir="/tmp"))
        (self.control / "a").mkdir()
        self._masters: dict[str, subprocess.Popen[bytes]] = {}

    # -- Capistrano --------------------------------------------------------------------

    def cap(self, task: str, release_id: str, tarball: Path | None = None) -> Run:
        """``cap farm <task>`` (``deploy`` or ``deploy:rollback``)."""
        cap = find_cap()
        if cap is None:
            raise RuntimeError("cap not found (Debian's capistrano: scripts/install-test-deps)")
        env = {
            **os.environ,
            "PEERS_HOSTS": str(self.hosts_file),
            "PEERS_USER": self.farm.user.pw_name,
            "PEERS_KEY": str(self.farm.client_key),
            "PEERS_KNOWN_HOSTS": str(self.farm.known_hosts),
            "PEERS_TARBALL": str(tarball or ""),
            "PEERS_KEEP": str(KEEP),
            "RELEASE_ID": release_id,
        }
        return self._timed([cap, "farm", task], cwd=PEERS / "capistrano", env=env)

    # -- Ansible -----------------------------------------------------------------------

    def ansible(self, playbook: str, release_id: str, tarball: Path | None = None) -> Run:
        """``ansible-playbook <playbook>`` (``deploy.yml`` or ``rollback.yml``), forks = hosts."""
        program = find_ansible()
        if program is None:
            raise RuntimeError("ansible-playbook not found (the dev extra: make setup)")
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(PEERS / "ansible" / "ansible.cfg"),
            "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=600s "
            f"-o UserKnownHostsFile={self.farm.known_hosts} -o GlobalKnownHostsFile=/dev/null",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.control / "a"),
            "ANSIBLE_LOCAL_TEMP": str(self.work / "ansible-tmp"),
            "ANSIBLE_HOME": str(self.work / "ansible-home"),
        }
        extra = {"release_id": release_id, "keep": KEEP, "tarball": str(tarball or "")}
        argv = [
            program,
            "-i",
            str(self.inventory),
            "--forks",
            str(len(self.hosts)),
            "-e",
            json.dumps(extra),
            str(PEERS / "ansible" / playbook),
        ]
        masters = self._ansible_masters()
        before = sum(kit.process_cpu(p) for p in masters)
        run = self._timed(argv, cwd=PEERS / "ansible", env=env)
        # ControlPersist's masters outlive the run: their CPU is the client's too.
        run.client_cpu_s += sum(kit.process_cpu(p) for p in self._ansible_masters()) - before
        return run

    def _ansible_masters(self) -> list[int]:
        """The ssh master processes Ansible's ControlPersist left (found by their socket)."""
        mark = str(self.control / "a")
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"ssh\0") and mark.encode() in cmdline:
                found.append(int(entry))
        return found

    # -- the floor: OpenSSH ControlMaster, one script per host -------------------------

    def _ssh(self, host: kit.SSHHost, *options: str) -> list[str]:
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            str(self.farm.client_key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            f"UserKnownHostsFile={self.farm.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            f"ControlPath={self.control / host.name}",
            "-p",
            str(host.port),
            "-l",
            self.farm.user.pw_name,
            *options,
            host.address,
        ]

    def open_floor(self) -> None:
        """One ControlMaster connection per host, opened now (not timed), all at once."""
        for host in self.hosts:
            if host.name not in self._masters:
                self._masters[host.name] = subprocess.Popen(
                    self._ssh(host, "-M", "-N", "-o", "ControlPersist=no"),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
        deadline = time.monotonic() + 15
        for host in self.hosts:
            while not (self.control / host.name).exists():
                if time.monotonic() > deadline or self._masters[host.name].poll() is not None:
                    raise RuntimeError(f"ControlMaster to {host.name} did not start")
                time.sleep(0.02)

    def floor(self, release_id: str, tarball: Path | None) -> Run:
        """Deploy (``tarball`` given) or roll back (``None``), every host at once.

        One command per host, over the connections :meth:`open_floor` opened.
        """
        script = (FLOOR_DEPLOY if tarball else FLOOR_ROLLBACK) + FLOOR_RELOAD
        if tarball:
            script += FLOOR_PRUNE
        masters = [m.pid for m in self._masters.values()]
        before = _children_cpu() + sum(kit.process_cpu(p) for p in masters)
        started = time.perf_counter()
        running = []
        for host in self.hosts:
            argv = [*self._ssh(host), "sh", "-c", shlex.quote(script), "sh"]
            argv += [str(host.deploy_path), release_id, str(host.app_port), str(KEEP)]
            with open(tarball or os.devnull, "rb") as stdin:
                running.append(
                    subprocess.Popen(
                        argv,
                        stdin=stdin,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        outputs, code = [], 0
        for process in running:
            out, _ = process.communicate(timeout=120)
            outputs.append(out.decode(errors="replace"))
            code = code or process.returncode
        wall = time.perf_counter() - started
        cpu = _children_cpu() + sum(kit.process_cpu(p) for p in masters) - before
        return Run(wall, cpu, code, "".join(outputs))

    # -- common ------------------------------------------------------------------------

    def _timed(self, argv: list[str], *, cwd: Path, env: dict[str, str]) -> Run:
        before = _children_cpu()
        started = time.perf_counter()
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            out, _ = process.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, _ = process.communicate()
        wall = time.perf_counter() - started
        return Run(wall, _children_cpu() - before, process.returncode, out.decode(errors="replace"))

    def close(self) -> None:
        """Stop the floor's masters and Ansible's persisting ones, by pid."""
        for master in self._masters.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(master.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                master.wait(timeout=5)
        self._masters.clear()
        for pid in self._ansible_masters():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        shutil.rmtree(self.control, ignore_errors=True)
