"""The SSH adapter's errors, and the one place asyncssh's exceptions become them.

::

    AdapterError (wave_sdk.errors)            exit 6
    └── HostError                             one host failed; ``host`` names it
        ├── HostUnreachable                   no connection: refused, timed out, DNS, login
        │   └── HostKeyRejected               the host key is unknown or changed
        ├── ConnectionLost                    the connection dropped during an operation
        └── RemoteCommandFailed               a command exited non-zero (``returncode``)
    AdapterError
    └── FleetDeployFailed                     a deploy failed on some hosts; ``hosts`` holds
                                              each host's outcome, the message all of them

Only :func:`map_ssh_error` looks at asyncssh's types, and it is only called once asyncssh
is imported (by the transport), so this module stays import-light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wave_sdk.errors import AdapterError

if TYPE_CHECKING:
    from wave_sdk_ssh.config import Host


class HostError(AdapterError):
    """Something failed on one host."""

    def __init__(self, message: str, *, host: str, hint: str | None = None) -> None:
        self.host = host
        super().__init__(message, hint=hint)


class HostUnreachable(HostError):
    """The host could not be connected to or logged in to."""


class HostKeyRejected(HostUnreachable):
    """The host's key is not in known_hosts, or differs from the key recorded there."""


class ConnectionLost(HostError):
    """The connection to the host dropped while an operation was running on it."""


class RemoteCommandFailed(HostError):
    """A remote command exited with a non-zero status."""

    def __init__(
        self, message: str, *, host: str, returncode: int, hint: str | None = None
    ) -> None:
        self.returncode = returncode
        super().__init__(message, host=host, hint=hint)


class FleetDeployFailed(AdapterError):
    """A deploy failed on one or more hosts; the hosts already switched were rolled back.

    ``hosts`` maps each host's name to its outcome (``state``, ``release``, ``error``), in
    the order of the configuration; the message says the same in one line.
    """

    def __init__(
        self, message: str, *, hosts: dict[str, dict[str, Any]], hint: str | None = None
    ) -> None:
        self.hosts = hosts
        super().__init__(message, hint=hint)


def map_ssh_error(exc: BaseException, host: Host, *, known_hosts: str | None) -> HostError:
    """The adapter's error for an exception raised while connecting to ``host``."""
    import asyncssh

    who, name = host.name, _known_hosts_name(host)
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        if known_hosts is not None and _has_recorded_key(known_hosts, host):
            return HostKeyRejected(
                f"{who}: the host key of {name} differs from the one recorded in {known_hosts}: "
                "refusing to connect (the server was reinstalled, or someone is in the middle)",
                host=host.name,
                hint="verify the new key's fingerprint with the server's owner, then replace "
                f"the line with `ssh-keygen -R {_known_hosts_name(host)} -f {known_hosts}` "
                "and ssh-keyscan",
            )
        return HostKeyRejected(
            f"{who}: unknown host key for {name} (not in {known_hosts}): refusing to connect",
            host=host.name,
            hint=f"check the fingerprint, then add it: ssh-keyscan -p {host.port} "
            f"{host.address} >> {known_hosts} (or point known_hosts at the right file)",
        )
    if isinstance(exc, asyncssh.PermissionDenied):
        return HostUnreachable(
            f"{who}: login to {name} refused for user {host.user or '(local)'}: {exc.reason}",
            host=host.name,
            hint="check user and identity_file, and that the public key is in the "
            "user's authorized_keys on the host",
        )
    if isinstance(exc, asyncssh.DisconnectError | asyncssh.ChannelOpenError):
        return ConnectionLost(
            f"{who}: connection to {name} lost: {exc.reason or type(exc).__name__}", host=who
        )
    if isinstance(exc, TimeoutError):
        return HostUnreachable(
            f"{who}: {name} did not answer within the connect timeout",
            host=host.name,
            hint="check the address, port and firewall, or raise connect_timeout",
        )
    if isinstance(exc, FileNotFoundError) and known_hosts and exc.filename:
        return HostUnreachable(
            f"{who}: cannot read {exc.filename}: no such file",
            host=host.name,
            hint="create the known_hosts file with the hosts' keys (ssh-keyscan), or set "
            "known_hosts to the file you use",
        )
    if isinstance(exc, OSError | asyncssh.Error):
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        return HostUnreachable(f"{who}: cannot connect to {name}: {reason}", host=who)
    return HostError(f"{who}: {name}: {type(exc).__name__}: {exc}", host=who)


def _known_hosts_name(host: Host) -> str:
    return host.address if host.port == 22 else f"[{host.address}]:{host.port}"


def _has_recorded_key(known_hosts: str, host: Host) -> bool:
    import asyncssh

    try:
        trusted = asyncssh.read_known_hosts(known_hosts).match(host.address, "", host.port)
    except (OSError, ValueError):
        return False
    return bool(trusted[0] or trusted[1])
