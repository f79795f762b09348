"""The target's configuration: shorthand hosts, defaults, and refusals with their fix."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from wave_sdk_ssh.config import SSHTarget

BASE: dict[str, Any] = {"deploy_path": "/srv/app", "pm2": {"app": "web", "script": "server.js"}}


def _target(**extra: Any) -> SSHTarget:
    return SSHTarget.model_validate({**BASE, "hosts": ["web-1.example.com"], **extra})


def test_host_strings_and_defaults() -> None:
    target = _target(
        hosts=["deploy@web-1.example.com:2222", "10.0.0.7", "[2001:db8::1]:22", {"address": "b"}],
        user="app",
        app_port=8080,
        env={"A": "1"},
    )
    hosts = target.resolved_hosts()
    assert [(h.name, h.address, h.port, h.user) for h in hosts] == [
        ("web-1.example.com:2222", "web-1.example.com", 2222, "deploy"),
        ("10.0.0.7", "10.0.0.7", 22, "app"),
        ("2001:db8::1", "2001:db8::1", 22, "app"),
        ("b", "b", 22, "app"),
    ]
    assert hosts[0].health_url == "http://127.0.0.1:8080/api/health"
    assert hosts[0].deploy_path == "/srv/app" and hosts[0].env == {"A": "1"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"hosts": ["127.0.0.1; touch pwned"]}, "is not a host name or an IP address"),
        ({"hosts": [{"address": "a", "user": "root;id"}]}, "is not a valid login name"),
        ({"hosts": ["a", "a"]}, "host names must be unique: a"),
        ({"deploy_path": "srv/app"}, "must be an absolute path"),
        ({"deploy_path": "/"}, "cannot be / itself"),
        ({"env": {"BAD-KEY": "x"}}, "is not a variable name"),
        ({"pm2": None}, "set exactly one process manager"),
        ({"systemd": {"unit": "app.service"}}, "set exactly one process manager"),
        ({"pm2": {"app": "web"}}, "set exactly one of `script` and `ecosystem`"),
        ({"pm2": {"app": "web", "script": "server.js --x"}}, "would hand anything else to a shell"),
        ({"pm2": {"app": "w;b", "script": "s.js"}}, "app name"),
        ({"pm2": {"app": "web", "script": "/abs.js"}}, "must be a path inside the release"),
        ({"git": {"repo": "-u/evil"}}, "is not a repository URL or path"),
        ({"git": {"repo": "r", "ref": "$(x)"}}, "is not a commit, tag or branch name"),
        ({"systemd": {"unit": "a b"}, "pm2": None}, "is not a systemd unit name"),
    ],
)
def test_refusals(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        _target(**extra)
    assert message in str(info.value)


def test_deploy_path_per_host() -> None:
    target = SSHTarget.model_validate(
        {
            "hosts": [
                {"address": "a", "deploy_path": "/x/"},
                {"address": "b", "deploy_path": "/y"},
            ],
            "pm2": {"app": "web", "script": "s.js"},
        }
    )
    assert [h.deploy_path for h in target.resolved_hosts()] == ["/x", "/y"]
    with pytest.raises(ValidationError, match="set deploy_path"):
        SSHTarget.model_validate({"hosts": ["a"], "pm2": {"app": "w", "script": "s.js"}})
