"""Reaching the engine: the Docker SDK, imported on demand, and its API client.

Nothing imports ``docker`` before a docker target runs (``wave adapters`` and ``wave config
validate`` never do). And when it is imported, it is imported lean: docker-py loads its
SSH transport — and with it paramiko, ~200 ms, more than the rest of the SDK — whenever
paramiko happens to be installed (another adapter may bring it), even to talk to a unix
socket. So unless the engine is on ``ssh://`` the SDK is imported with paramiko hidden,
and an ``ssh://`` engine later in the same process gets the transport then
(:func:`_enable_ssh`).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from wave_sdk_docker.errors import docker_errors

if TYPE_CHECKING:
    from docker import APIClient

    from wave_sdk_docker.config import DockerTarget

DEFAULT_HOST = "unix:///var/run/docker.sock"


def endpoint(config: DockerTarget) -> str:
    """The engine's address as the user would write it: ``docker_host``, $DOCKER_HOST, default."""
    return config.docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def import_sdk(*, ssh: bool) -> None:
    """Import docker-py (once); with its SSH transport only when ``ssh`` asks for it."""
    if "docker" in sys.modules or ssh or "paramiko" in sys.modules:
        import docker  # (paramiko, if any, is loaded already: nothing to save)
    else:
        sys.modules["paramiko"] = None  # type: ignore[assignment]  # `import` now fails fast
        try:
            import docker  # noqa: F401
        finally:
            del sys.modules["paramiko"]
    if ssh:
        _enable_ssh()


def _enable_ssh() -> None:
    """Give an SDK imported without paramiko its SSH transport after all."""
    from docker.api import client

    if "SSHHTTPAdapter" in vars(client):
        return
    try:
        from docker.transport.sshconn import SSHHTTPAdapter
    except ImportError:
        return  # no paramiko: the SDK says "Install paramiko package" itself
    client.SSHHTTPAdapter = SSHHTTPAdapter  # type: ignore[attr-defined]


def connect(config: DockerTarget) -> APIClient:
    """A client for the target's engine; the first call asks the engine its API version."""
    address = endpoint(config)
    import_sdk(ssh=address.startswith("ssh://"))
    from docker import APIClient
    from docker.tls import TLSConfig
    from docker.utils import kwargs_from_env

    with docker_errors("connect", endpoint=address):
        kwargs: dict[str, Any] = dict(kwargs_from_env())
        if config.docker_host:
            kwargs["base_url"] = config.docker_host
        if config.tls is not None:
            tls = config.tls
            cert = (tls.client_cert, tls.client_key) if tls.client_cert and tls.client_key else None
            kwargs["tls"] = TLSConfig(client_cert=cert, ca_cert=tls.ca_cert, verify=tls.verify)
        return APIClient(
            version="auto",
            timeout=int(config.api_timeout),
            use_ssh_client=config.use_ssh_client,
            **kwargs,
        )


def is_not_found(exc: BaseException) -> bool:
    """Whether the engine answered 404 (no such container or image)."""
    from docker.errors import NotFound

    return isinstance(exc, NotFound)


def is_api_error(exc: BaseException) -> bool:
    """Whether the engine answered with an error status (conflict, in use …)."""
    from docker.errors import APIError

    return isinstance(exc, APIError)
