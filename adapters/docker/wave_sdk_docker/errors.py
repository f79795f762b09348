"""Docker's failures as wave errors: the one place the Docker SDK's exceptions are mapped.

::

    AdapterError (wave_sdk.errors)   exit 6
    ├── DaemonUnreachable            the engine does not answer: no socket, refused, TLS, ssh,
    │                                or no answer within api_timeout
    ├── ImageNotFound                the release's image is neither here nor in the registry
    ├── RegistryError                a push or pull failed: registry down, unknown host …
    │   └── RegistryAuthFailed       the registry refused the credentials, or wants some
    ├── BuildFailed                  the image build failed (with its last output lines)
    ├── PortTaken                    something else holds the release's port
    └── ContainerExited              the new container exited at start (exit code and last
                                     log lines); the previous release was left running

Every call into the SDK runs inside :func:`docker_errors`, which turns what escapes — the
SDK's ``DockerException`` tree, ``requests``' connection errors, socket and SSH errors —
into one of these, each with a hint. Progress streams (build, push, pull) report their
errors as messages rather than exceptions; :func:`stream_error` classifies those.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from wave_sdk.errors import AdapterError


class DaemonUnreachable(AdapterError):
    """The Docker engine does not answer at its address."""


class ImageNotFound(AdapterError):
    """The release's image is not present and the registry does not have it."""


class RegistryError(AdapterError):
    """A push to or pull from the registry failed."""


class RegistryAuthFailed(RegistryError):
    """The registry refused the credentials (or needs some and none were given)."""


class BuildFailed(AdapterError):
    """The image build failed; the message ends with its last output lines."""


class PortTaken(AdapterError):
    """The release's port is held by something that is not a release of this target."""


class ContainerExited(AdapterError):
    """The new container exited (or restarted) at start; ``exit_status`` is its code."""

    def __init__(self, message: str, *, exit_status: int | None, hint: str | None = None) -> None:
        self.exit_status = exit_status
        super().__init__(message, hint=hint)


DAEMON_HINT = (
    "start the engine (systemctl start docker, or dockerd), or point `docker_host` / "
    "DOCKER_HOST at one that runs"
)

_AUTH = re.compile(
    r"unauthorized|authentication required|no basic auth credentials|"
    r"requested access to the resource is denied|incorrect username or password|\b401\b",
    re.IGNORECASE,
)
_NOT_FOUND = re.compile(r"manifest unknown|not found|does not exist|repository .* not found", re.I)
_UNREACHABLE = re.compile(
    r"connection refused|no such host|dial tcp|i/o timeout|server gave HTTP response to "
    r"HTTPS|connection reset|\bEOF\b",
    re.IGNORECASE,
)
_PORT = re.compile(r"port is already allocated|address already in use", re.IGNORECASE)


def daemon_reason(exc: BaseException) -> str:
    """Why the engine did not answer, in a few words, from an exception and its causes."""
    text = " ".join(
        f"{type(e).__name__}: {e}" for e in _chain(exc)
    )  # the SDK wraps urllib3 wraps socket errors: look at all of them
    for pattern, reason in (
        (r"FileNotFoundError|No such file or directory", "no socket at that path"),
        (r"ConnectionRefusedError|Connection refused", "connection refused"),
        (r"PermissionError|Permission denied", "permission denied on the socket"),
        (r"Timeout|timed out", "no answer in time"),
        (r"SSL|TLS|certificate", "TLS handshake failed"),
        (r"SSHException|paramiko|ssh:", "SSH connection failed"),
        (r"Name or service not known|nodename nor servname|getaddrinfo", "unknown host"),
    ):
        if re.search(pattern, text, re.IGNORECASE):
            return reason
    return f"{type(exc).__name__}: {exc}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)


def unreachable(endpoint: str, exc: BaseException) -> DaemonUnreachable:
    reason = daemon_reason(exc)
    hint = DAEMON_HINT
    if reason == "permission denied on the socket":
        hint = "run as a user in the `docker` group, or as root"
    elif reason == "TLS handshake failed":
        hint = "check `tls` (or DOCKER_CERT_PATH / DOCKER_TLS_VERIFY) against the engine"
    return DaemonUnreachable(f"Docker daemon unreachable at {endpoint}: {reason}", hint=hint)


def stream_error(
    message: str, *, action: str, reference: str, registry: str | None
) -> AdapterError:
    """The error for a message that a build, push or pull stream reported."""
    where = registry or "Docker Hub"
    text = message.strip().splitlines()[-1] if message.strip() else "no detail"
    if _AUTH.search(message):
        return RegistryAuthFailed(
            f"registry {where} refused to {action} {reference}: {text}",
            hint='set `registry_auth` (username, password = "${VAR}") to an account '
            "allowed to " + action,
        )
    if action == "pull" and _NOT_FOUND.search(message):
        return ImageNotFound(
            f"image {reference} not found in {where}: {text}",
            hint="push it first, or set `build` (or --source) so that wave builds it",
        )
    if _UNREACHABLE.search(message):
        return RegistryError(
            f"registry {where} unreachable during {action} of {reference}: {text}",
            hint="start the registry or fix the registry part of `image`",
        )
    return RegistryError(f"{action} of {reference} failed: {text}")


@contextmanager
def docker_errors(
    action: str, *, endpoint: str, reference: str | None = None, registry: str | None = None
) -> Iterator[None]:
    """Run SDK calls; anything they raise leaves as a :class:`AdapterError` subclass.

    ``action`` says what was being done ("start the container web"), ``endpoint`` where the
    engine is; ``reference`` and ``registry`` name the image when one is involved.
    """
    try:
        yield
    except AdapterError:
        raise
    except Exception as exc:
        raise translate(
            exc, action=action, endpoint=endpoint, reference=reference, registry=registry
        ) from exc


def translate(
    exc: Exception,
    *,
    action: str,
    endpoint: str,
    reference: str | None = None,
    registry: str | None = None,
) -> AdapterError:
    """The wave error for an exception the Docker SDK (or its transport) raised."""
    # Imported here: this module's classes are importable without the SDK.
    import requests
    from docker import errors as sdk

    if isinstance(exc, sdk.ImageNotFound) and reference:
        if action.startswith("pull"):
            return stream_error(str(exc), action="pull", reference=reference, registry=registry)
        return ImageNotFound(
            f"image {reference} is not on the engine at {endpoint}",
            hint="set `build` (or --source) so that wave builds it, or push it to the registry",
        )
    if isinstance(exc, sdk.APIError):
        explanation = str(exc.explanation or exc)
        if _PORT.search(explanation):
            return PortTaken(
                f"cannot {action}: {explanation}",
                hint="stop what holds the port, or choose another one for the target",
            )
        if reference and (exc.status_code == 401 or _AUTH.search(explanation)):
            verb = "push" if action.startswith("push") else "pull"
            return stream_error(explanation, action=verb, reference=reference, registry=registry)
        if reference and action.startswith("pull"):
            return stream_error(explanation, action="pull", reference=reference, registry=registry)
        return AdapterError(f"Docker engine at {endpoint} refused to {action}: {explanation}")
    if isinstance(exc, sdk.TLSParameterError):
        return DaemonUnreachable(
            f"Docker daemon unreachable at {endpoint}: {exc}",
            hint="check `tls` (ca_cert, client_cert, client_key) of the target",
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return DaemonUnreachable(
            f"Docker daemon at {endpoint} did not answer to {action} in time",
            hint="raise `api_timeout`, or check that the engine is not stuck",
        )
    if isinstance(exc, (requests.exceptions.ConnectionError, OSError)) or (
        isinstance(exc, sdk.DockerException) and _is_connection_failure(exc)
    ):
        return unreachable(endpoint, exc)
    if isinstance(exc, sdk.DockerException):
        return AdapterError(f"Docker: cannot {action}: {exc}")
    return AdapterError(f"Docker: cannot {action}: {type(exc).__name__}: {exc}")


def _is_connection_failure(exc: BaseException) -> bool:
    # docker.from_env()/APIClient(version="auto") wraps the first connection error into a
    # bare DockerException("Error while fetching server API version: …").
    text = " ".join(str(e) for e in _chain(exc))
    return bool(
        re.search(
            r"fetching server API version|Connection aborted|Connection refused|"
            r"No such file or directory|SSHException|Max retries exceeded",
            text,
        )
    )
