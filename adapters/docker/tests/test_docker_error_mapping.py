"""The mapping of the SDK's exceptions, for the failures a test cannot provoke for real.

(Root ignores socket permissions and this machine has no TLS or SSH engine; everything
else is provoked on a real engine in test_docker_errors.py.)
"""

from __future__ import annotations

import pytest
import requests
from docker import errors as sdk
from wave_sdk_docker.errors import (
    DaemonUnreachable,
    PortTaken,
    RegistryAuthFailed,
    docker_errors,
    translate,
)

from wave_sdk.errors import AdapterError

ENDPOINT = "unix:///var/run/docker.sock"


def _api_error(status: int, explanation: str) -> sdk.APIError:
    response = requests.Response()
    response.status_code = status
    return sdk.APIError("engine said no", response=response, explanation=explanation)


@pytest.mark.parametrize(
    ("exc", "reason", "hint"),
    [
        (
            requests.exceptions.ConnectionError(PermissionError(13, "Permission denied")),
            "permission denied on the socket",
            "`docker` group",
        ),
        (
            sdk.DockerException(
                "Error while fetching server API version: ('Connection aborted.', "
                "ConnectionRefusedError(111, 'Connection refused'))"
            ),
            "connection refused",
            "start the engine",
        ),
        (
            requests.exceptions.SSLError("certificate verify failed"),
            "TLS handshake failed",
            "check `tls`",
        ),
    ],
)
def test_unreachable_engines(exc: Exception, reason: str, hint: str) -> None:
    error = translate(exc, action="list containers", endpoint=ENDPOINT)
    assert isinstance(error, DaemonUnreachable)
    assert str(error).startswith(f"Docker daemon unreachable at {ENDPOINT}: {reason} — ")
    assert hint in str(error)


def test_a_hung_engine_is_named_with_the_setting_to_raise() -> None:
    error = translate(
        requests.exceptions.ReadTimeout("read timed out"), action="start", endpoint=ENDPOINT
    )
    assert isinstance(error, DaemonUnreachable)
    assert "did not answer to start in time" in str(error) and "api_timeout" in str(error)


def test_published_port_conflict_is_port_taken() -> None:
    error = translate(
        _api_error(
            500,
            "driver failed programming external connectivity: Bind for "
            "0.0.0.0:8080 failed: port is already allocated",
        ),
        action="start the container web",
        endpoint=ENDPOINT,
    )
    assert isinstance(error, PortTaken)
    assert "port is already allocated" in str(error)


def test_registry_401_on_pull_is_an_auth_failure() -> None:
    error = translate(
        _api_error(401, "unauthorized: authentication required"),
        action="pull registry.example.com/app:v1",
        endpoint=ENDPOINT,
        reference="registry.example.com/app:v1",
        registry="registry.example.com",
    )
    assert isinstance(error, RegistryAuthFailed)
    assert "registry registry.example.com refused to pull registry.example.com/app:v1" in str(error)


def test_anything_else_is_one_line_naming_the_action() -> None:
    conflict = _api_error(409, 'Conflict. The container name "/web--v1" is already in use')
    with (
        pytest.raises(AdapterError) as info,
        docker_errors("rename the container web to web--v1", endpoint=ENDPOINT),
    ):
        raise conflict
    assert str(info.value) == (
        f"Docker engine at {ENDPOINT} refused to rename the container web to web--v1: "
        'Conflict. The container name "/web--v1" is already in use'
    )
    assert type(info.value) is AdapterError
