"""``[targets.<name>]`` with ``adapter = "ssh"``: hosts, authentication, layout, process manager.

Every value that later reaches a remote shell is quoted there (:mod:`wave_sdk_ssh.remote`);
the validators here refuse, before anything connects, what can only be a mistake or an
attack: a host address that is not a host name or an IP address (``127.0.0.1; touch pwned``),
a user or app name with shell syntax, an environment key that is not a variable name, a
relative deploy path. Each refusal is one ``wave config validate`` line with its fix.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from wave_sdk.config import Environment, InsidePath, Settings

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_UNIT = re.compile(r"^[A-Za-z0-9@._:-]{1,256}$")
_PROGRAM = re.compile(r"^[A-Za-z0-9._/+-]+$")
_GIT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")

EnvMap = Environment


def check_address(value: str) -> str:
    """A host name or an IP address, nothing else: no spaces, quotes or shell syntax."""
    text = value.strip()
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        if not _HOSTNAME.match(text):
            raise ValueError(
                f"{value!r} is not a host name or an IP address "
                "(letters, digits, '-' and '.' only; no spaces or shell characters)"
            ) from None
        return text
    return bare


def _check_deploy_path(value: str | None) -> str | None:
    if value is None:
        return None
    if not posixpath.isabs(value) or "\n" in value or "\0" in value:
        raise ValueError(f"{value!r} must be an absolute path on the host, e.g. /srv/app")
    normal = posixpath.normpath(value)
    if normal == "/":
        raise ValueError("the deploy path cannot be / itself; use a directory such as /srv/app")
    return normal


class HostConfig(Settings):
    """One server; every field but ``address`` defaults to the target's value."""

    address: str = Field(description="Host name or IP address the SSH client connects to.")
    name: str | None = Field(
        None, description="Name in reports and status; default the address (with :port)."
    )
    port: int | None = Field(None, ge=1, le=65535, description="SSH port; default the target's.")
    user: str | None = Field(None, description="SSH user; default the target's.")
    identity_file: str | None = Field(None, description="Private key; default the target's.")
    deploy_path: str | None = Field(None, description="Deploy path; default the target's.")
    app_port: int | None = Field(
        None, ge=1, le=65535, description="The app's port on this host; default the target's."
    )
    health_url: str | None = Field(None, description="Health URL on it; default the target's.")
    env: EnvMap = Field(
        default_factory=dict, description="Extra environment for this host, over the target's."
    )

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return check_address(value)

    @field_validator("deploy_path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return _check_deploy_path(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError(f"host name {value!r}: use letters, digits, '.', '_' or '-'")
        return value

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is not None and not _USER.match(value):
            raise ValueError(f"user {value!r} is not a valid login name")
        return value


def _parse_host(value: Any) -> Any:
    """``"deploy@web-1.example.com:2222"`` is shorthand for a host table."""
    if not isinstance(value, str):
        return value
    user, _, rest = value.rpartition("@")
    address, port = rest, None
    if rest.startswith("["):  # [2001:db8::1]:2222
        address, _, tail = rest[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else None
    elif rest.count(":") == 1:
        address, port = rest.split(":")
    table: dict[str, Any] = {"address": address}
    if user:
        table["user"] = user
    if port:
        table["port"] = int(port) if port.isdigit() else port
    return table


class GitSource(Settings):
    """``[targets.<name>.git]``: the host fetches the release's commit itself."""

    repo: str = Field(description="Repository URL or path, as the host's git sees it.")
    ref: str | None = Field(
        None, description="Commit, tag or branch to deploy; default the release's commit."
    )

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str) -> str:
        if not value or value.startswith("-") or "\n" in value:
            raise ValueError(f"{value!r} is not a repository URL or path")
        return value

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        if value is not None and (not _GIT_REF.match(value) or ".." in value):
            raise ValueError(f"{value!r} is not a commit, tag or branch name")
        return value


class Pm2Config(Settings):
    """``[targets.<name>.pm2]``: the app as pm2 runs it."""

    app: str = Field(description="pm2 process name (what `pm2 jlist` shows).")
    script: str | None = Field(
        None,
        description="Script to run, relative to the release (server.js, dist/main.js); "
        "wave writes the ecosystem file. Exclusive with `ecosystem`.",
    )
    ecosystem: str | None = Field(
        None,
        description="Your own ecosystem file inside the release (ecosystem.config.js); "
        "run as `pm2 startOrReload <file> --only <app>`.",
    )
    interpreter: str | None = Field(
        None, description="Interpreter for `script` (python3, bun); default node."
    )
    args: list[str] = Field(default_factory=list, description="Arguments of `script`.")
    instances: int | Literal["max"] = Field(
        1, description='Number of processes; "max" for one per CPU.'
    )
    exec_mode: Literal["fork", "cluster"] | None = Field(
        None,
        description="pm2 exec mode; default cluster when instances is not 1, else fork. "
        "Cluster mode (Node apps) makes `reload` zero-downtime.",
    )
    reload: Literal["reload", "restart"] = Field(
        "reload", description="`startOrReload` (graceful) or `startOrRestart`."
    )
    command: str = Field("pm2", description="The pm2 program on the hosts (name or path).")

    @model_validator(mode="after")
    def _one_way(self) -> Pm2Config:
        if (self.script is None) == (self.ecosystem is None):
            raise ValueError("set exactly one of `script` and `ecosystem`")
        for name, value in (("script", self.script), ("ecosystem", self.ecosystem)):
            if value is not None and (posixpath.isabs(value) or value.startswith("..")):
                raise ValueError(f"{name} {value!r} must be a path inside the release")
        # pm2 runs a script whose name has a space through `bash -c`: refuse, never quote.
        for name, value in (("script", self.script), ("interpreter", self.interpreter)):
            if value is not None and not _PROGRAM.match(value):
                raise ValueError(
                    f"{name} {value!r}: use letters, digits and . _ / + - only "
                    "(pm2 would hand anything else to a shell)"
                )
        if isinstance(self.instances, int) and self.instances < 1:
            raise ValueError('instances must be at least 1 (or "max")')
        return self

    @field_validator("app")
    @classmethod
    def _app(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"app name {value!r}: use letters, digits, '.', '_' or '-'")
        return value

    @property
    def mode(self) -> str:
        return self.exec_mode or ("fork" if self.instances == 1 else "cluster")


class SystemdConfig(Settings):
    """``[targets.<name>.systemd]``: a unit whose working directory is ``<deploy_path>/current``."""

    unit: str = Field(description="Unit name, e.g. app.service.")
    scope: Literal["system", "user"] = Field(
        "system", description="A system unit, or a user unit (`systemctl --user`)."
    )
    sudo: bool = Field(False, description="Prefix systemctl with `sudo -n` (system units).")

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str) -> str:
        if not _UNIT.match(value):
            raise ValueError(f"unit name {value!r} is not a systemd unit name")
        return value


class SSHTarget(Settings):
    """``[targets.<name>]`` with ``adapter = "ssh"`` (docs/adapters/ssh.md)."""

    hosts: list[HostConfig] = Field(
        min_length=1,
        description='Servers: tables, or "user@address:port" strings.',
    )
    deploy_path: str | None = Field(
        None, description="Where releases/, shared/ and current live on the hosts."
    )
    user: str | None = Field(None, description="SSH user; default your local user name.")
    port: int = Field(22, ge=1, le=65535, description="SSH port.")
    identity_file: str | None = Field(
        None, description="Private key file; default your keys in ~/.ssh and the agent."
    )
    passphrase: SecretStr | None = Field(None, description='Key passphrase, as "${VAR}".')
    agent: bool = Field(True, description="Use the SSH agent ($SSH_AUTH_SOCK) if there is one.")
    known_hosts: str = Field(
        "~/.ssh/known_hosts", description="known_hosts file the host keys are checked against."
    )
    verify_host_keys: bool = Field(
        True,
        description="Refuse hosts whose key is not in known_hosts. Turning it off lets "
        "anyone on the path impersonate your servers.",
    )
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to connect and log in.")
    keepalive_interval: float = Field(
        15.0, ge=0, description="Seconds between keepalives; 0 turns them off."
    )
    keepalive_count_max: int = Field(
        3, ge=1, description="Unanswered keepalives before the connection counts as lost."
    )
    command_timeout: float = Field(
        900.0, gt=0, description="Seconds any one remote command (a build) may take."
    )
    source: str | None = Field(
        None,
        description="Local directory uploaded as the release, relative to the project; "
        "`--source` overrides it.",
    )
    git: GitSource | None = Field(
        None, description="Fetch the release on the hosts with git instead of uploading it."
    )
    exclude: list[str] = Field(
        default_factory=list, description="Names never uploaded (besides .git, .wave)."
    )
    build: list[str] = Field(
        default_factory=list,
        description='Shell commands run in the new release on each host: ["npm ci", "npm run '
        'build"].',
    )
    shared: list[InsidePath] = Field(
        default_factory=list,
        description="Paths kept in shared/ and linked into every release (.env, uploads).",
    )
    env: EnvMap = Field(
        default_factory=dict,
        description="Environment of the app and the build; ${VAR} values stay secret "
        "(sent in files and on stdin, never on a command line).",
    )
    app_port: int | None = Field(
        None, ge=1, le=65535, description="The app's port, given to it as $PORT."
    )
    health_url: str | None = Field(
        None,
        description="URL checked on each host after the reload (curl on the host); "
        "default http://127.0.0.1:<app_port or 3000>/api/health.",
    )
    health_timeout: float = Field(
        30.0, gt=0, description="Seconds a host's health URL has to answer 2xx after a reload."
    )
    url: str | None = Field(
        None, description="Where users reach the app (a load balancer); the core's HTTP checks."
    )
    pm2: Pm2Config | None = Field(None, description="Run the app with pm2.")
    systemd: SystemdConfig | None = Field(None, description="Run the app as a systemd unit.")
    keep: int = Field(
        5, ge=2, description="Releases kept per host; rollback targets are never pruned."
    )
    max_parallel: int = Field(10, ge=1, description="Hosts worked on at the same time.")
    batch_size: int | None = Field(
        None,
        ge=1,
        description="Rolling deploy: hosts per batch, each batch staged, switched and "
        "verified before the next; default all hosts in one batch.",
    )
    batch_pause: float = Field(0.0, ge=0, description="Seconds to wait between batches.")

    @field_validator("deploy_path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return _check_deploy_path(value)

    @field_validator("hosts", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        return [_parse_host(v) for v in value] if isinstance(value, list) else value

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is not None and not _USER.match(value):
            raise ValueError(f"user {value!r} is not a valid login name")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> SSHTarget:
        names = [h.name or _default_name(h, self.port) for h in self.hosts]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"host names must be unique: {', '.join(duplicates)}")
        if self.deploy_path is None and any(h.deploy_path is None for h in self.hosts):
            raise ValueError("set deploy_path (for example /srv/app), for the target or each host")
        if (self.pm2 is None) == (self.systemd is None):
            raise ValueError("set exactly one process manager: a [pm2] or a [systemd] table")
        return self

    def resolved_hosts(self) -> list[Host]:
        """Each host with the target's defaults filled in."""
        hosts = []
        for h in self.hosts:
            port = h.port or self.port
            app_port = h.app_port or self.app_port
            deploy_path = h.deploy_path or self.deploy_path
            assert deploy_path is not None  # the model validator saw to it
            hosts.append(
                Host(
                    name=h.name or _default_name(h, self.port),
                    address=h.address,
                    port=port,
                    user=h.user or self.user,
                    identity_file=h.identity_file or self.identity_file,
                    deploy_path=deploy_path,
                    app_port=app_port,
                    health_url=h.health_url
                    or self.health_url
                    or f"http://127.0.0.1:{app_port or 3000}/api/health",
                    env={**self.env, **h.env},
                )
            )
        return hosts


def _default_name(host: HostConfig, default_port: int) -> str:
    port = host.port or default_port
    return host.address if port == 22 else f"{host.address}:{port}"


@dataclass(frozen=True, kw_only=True)
class Host:
    """One host with every setting resolved (the target's defaults, then its own)."""

    name: str
    address: str
    port: int
    user: str | None
    identity_file: str | None
    deploy_path: str
    app_port: int | None
    health_url: str
    env: EnvMap
