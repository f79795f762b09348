"""``[targets.<name>]`` with ``adapter = "docker"``: the configuration model.

Imports pydantic and wave_sdk only, so ``wave config validate`` and ``wave config schema``
never load the Docker SDK. Every field has a description: the configuration reference and
``docs/adapters/docker.md`` are written from them.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from wave_sdk import Settings
from wave_sdk.config import Environment

LABEL_PREFIX = "wave."
"""Labels wave sets on every container and image; reserved, so ``labels`` may not use it."""

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(
    rf"^(?:(?P<registry>[a-zA-Z0-9.-]+(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)/)?"
    rf"{_COMPONENT}(?:/{_COMPONENT})*$"
)
_PORT_KEY = re.compile(r"^[0-9]{1,5}(?:/(?:tcp|udp|sctp))?$")
_HOST_PORT = re.compile(r"^(?:(?P<ip>[0-9.]+|\[[0-9a-fA-F:]+\]):)?(?P<port>[0-9]{1,5})$")
_MEMORY = re.compile(r"^[0-9]+(?:\.[0-9]+)?[bkmgBKMG]?$")


class RegistryAuth(Settings):
    """``registry_auth``: credentials for pushing and pulling the target's image."""

    username: str = Field(description="Registry user name.")
    password: SecretStr = Field(description="Password or token; write it as ${VAR}.")
    server: str | None = Field(
        None, description="Registry host; default the registry part of `image`."
    )


class Healthcheck(Settings):
    """``healthcheck``: replaces the image's HEALTHCHECK (Docker runs it in the container)."""

    test: list[str] = Field(
        min_length=1,
        description="Command run inside the container, as an argv (no shell); exit status "
        "0 means healthy.",
    )
    interval: float = Field(5.0, gt=0, description="Seconds between checks.")
    timeout: float = Field(3.0, gt=0, description="Seconds one check may take.")
    retries: int = Field(3, ge=1, description="Failures in a row that make it unhealthy.")
    start_period: float = Field(
        0.0, ge=0, description="Seconds after start during which failures do not count."
    )


class Tls(Settings):
    """``tls``: certificates for a Docker engine on ``tcp://`` (``docker --tlsverify``)."""

    ca_cert: str | None = Field(
        None, description="CA certificate the engine's certificate is checked against."
    )
    client_cert: str | None = Field(None, description="Client certificate (cert.pem).")
    client_key: str | None = Field(None, description="Client key (key.pem).")
    verify: bool = Field(True, description="Verify the engine's certificate.")


class DockerTarget(Settings):
    """``[targets.<name>]`` with ``adapter = "docker"``."""

    # -- the image ---------------------------------------------------------------------
    image: str = Field(
        description="Image repository, without a tag: each release is tagged with its id, "
        "e.g. 'registry.example.com/shop/web' → registry.example.com/shop/web:<release>."
    )
    build: str | None = Field(
        None,
        description="Build context directory, relative to the project; `--source` overrides "
        "it. Without one, the image must already exist locally or in the registry.",
    )
    dockerfile: str | None = Field(
        None, description="Dockerfile, relative to the build context (default: Dockerfile)."
    )
    build_args: dict[str, str | SecretStr] = Field(
        default_factory=dict, description="Build arguments (ARG); ${VAR} values stay secret."
    )
    push: bool | None = Field(
        None,
        description="Push the image after building it (default: when `image` names a "
        "registry host, as in '127.0.0.1:5000/app').",
    )
    pull: Literal["missing", "always", "never"] = Field(
        "missing",
        description="When the release's image is not built here: pull it if 'missing' "
        "locally, 'always', or 'never' (then it must be present).",
    )
    registry_auth: RegistryAuth | None = Field(
        None, description="Credentials for the registry (push and pull)."
    )

    # -- the container -----------------------------------------------------------------
    name: str | None = Field(
        None,
        description="Name of the live container (default '<project>-<target>'); kept "
        "releases are named '<name>--<release>'.",
    )
    command: str | list[str] | None = Field(
        None,
        description="Command (CMD) overriding the image's; a string is split like a shell would.",
    )
    entrypoint: list[str] | None = Field(
        None, description="Entrypoint overriding the image's, as an argv."
    )
    env: Environment = Field(
        default_factory=dict,
        description="Environment of the container; ${VAR} values stay secret. Unless given "
        "here, $PORT is the port the app listens on: the container side of the first "
        "published port, else `port`.",
    )
    user: str | None = Field(None, description="User (and group) to run as, e.g. '1000:1000'.")
    network: str | None = Field(
        None,
        description="Network mode: 'host' (the app listens on the host's ports), 'bridge', "
        "'none', or a network name (default: Docker's bridge).",
    )
    ports: dict[str, int | str] = Field(
        default_factory=dict,
        description="Published ports, container port → host port: "
        '{ "8080/tcp" = 8080 } or { "8080" = "127.0.0.1:8080" }. Not with network = "host".',
    )
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Host port the release answers on: its URL, and the readiness check of "
        "a container without a HEALTHCHECK (default: the first published host port).",
    )
    url_host: str = Field("127.0.0.1", description="Host part of the release's URL.")
    url: str | None = Field(
        None, description="The release's URL when it is not http://<url_host>:<port>."
    )
    volumes: list[str] = Field(
        default_factory=list,
        description="Volumes as in `docker run -v`: 'data:/var/lib/app' or "
        "'./config:/etc/app:ro' (a path starting with . is relative to the project).",
    )
    restart: Literal["no", "on-failure", "always", "unless-stopped"] = Field(
        "unless-stopped", description="Restart policy of the live container."
    )
    max_restarts: int = Field(
        0, ge=0, description="With restart = 'on-failure': retries before giving up (0: no limit)."
    )
    memory: str | None = Field(None, description="Memory limit, e.g. '512m' or '2g'.")
    cpus: float | None = Field(None, gt=0, description="CPU limit, e.g. 1.5.")
    init: bool = Field(
        False,
        description="Run an init process as PID 1 (docker run --init): forwards signals and "
        "reaps zombies, so an app that ignores SIGTERM as PID 1 still stops at once.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Extra labels on the containers and built images ('wave.*' is reserved).",
    )

    # -- health and timing -------------------------------------------------------------
    healthcheck: Healthcheck | None = Field(
        None, description="A health check replacing the image's HEALTHCHECK."
    )
    wait_healthy: bool = Field(
        True,
        description="When the container has a health check, a deploy waits for Docker to "
        "report it healthy (then the core's HTTP checks run).",
    )
    start_timeout: float = Field(
        60.0, gt=0, description="Seconds for a new container to become ready."
    )
    stop_timeout: int = Field(
        10, ge=0, description="Seconds between SIGTERM and SIGKILL when a container stops."
    )
    keep: int = Field(
        5,
        ge=2,
        description="Releases kept as stopped containers (live one included); the live one "
        "and the one before it are never removed.",
    )
    prune_images: bool = Field(True, description="Untag the images of releases retention removes.")

    # -- the engine --------------------------------------------------------------------
    docker_host: str | None = Field(
        None,
        description="Engine address: unix:///var/run/docker.sock, tcp://host:2376 or "
        "ssh://user@host (default: $DOCKER_HOST, else the local socket).",
    )
    tls: Tls | None = Field(
        None,
        description="TLS for a tcp:// engine (default: from $DOCKER_TLS_VERIFY and "
        "$DOCKER_CERT_PATH).",
    )
    use_ssh_client: bool = Field(
        False,
        description="For ssh:// engines, use the ssh command (and its config) instead of paramiko.",
    )
    api_timeout: float = Field(
        60.0, gt=0, description="Seconds to wait for an answer from the engine."
    )

    # -- validation --------------------------------------------------------------------

    @field_validator("image")
    @classmethod
    def _repository(cls, value: str) -> str:
        if "@" in value or (":" in value.rsplit("/", 1)[-1]):
            raise ValueError(
                f"{value!r} has a tag or digest: write the repository only "
                "(wave tags each image with its release id)"
            )
        if not _REPOSITORY.match(value):
            raise ValueError(
                f"{value!r} is not an image repository: use lower-case names such as "
                "'app' or 'registry.example.com:5000/team/app'"
            )
        return value

    @field_validator("name")
    @classmethod
    def _container_name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError(
                f"{value!r} is not a container name: use letters, digits, '_', '.' or '-'"
            )
        return value

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: dict[str, int | str]) -> dict[str, int | str]:
        for key, host in value.items():
            if not _PORT_KEY.match(key):
                raise ValueError(f"{key!r} is not a container port: write '8080' or '8080/tcp'")
            match = _HOST_PORT.match(str(host))
            if match is None or not 1 <= int(match["port"]) <= 65535:
                raise ValueError(
                    f"{key} = {host!r}: write a host port (8080) or 'IP:PORT' ('127.0.0.1:8080')"
                )
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None and not _MEMORY.match(value):
            raise ValueError(f"{value!r} is not a size: write it like '512m' or '2g'")
        return value

    @field_validator("volumes")
    @classmethod
    def _volumes(cls, value: list[str]) -> list[str]:
        for volume in value:
            parts = volume.split(":")
            if len(parts) not in (2, 3) or not all(parts[:2]):
                raise ValueError(
                    f"{volume!r}: write 'SOURCE:/path/in/container' with an optional ':ro'"
                )
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key.startswith(LABEL_PREFIX):
                raise ValueError(f"label {key!r}: the prefix {LABEL_PREFIX!r} is wave's own")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str | SecretStr]) -> dict[str, str | SecretStr]:
        for key in value:
            if not key or "=" in key:
                raise ValueError(f"{key!r} is not an environment variable name")
        return value

    @model_validator(mode="after")
    def _host_network_has_no_published_ports(self) -> DockerTarget:
        if self.network == "host" and self.ports:
            raise ValueError(
                'ports are not published with network = "host": remove `ports` and set '
                "`port` to the port the app listens on"
            )
        return self

    # -- derived values ----------------------------------------------------------------

    @property
    def registry(self) -> str | None:
        """The registry host of ``image``, or ``None`` for Docker Hub / a local-only name."""
        first, _, rest = self.image.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            return first
        return None

    @property
    def release_port(self) -> int | None:
        """The host port the release answers on: ``port``, else the first published one."""
        if self.port is not None:
            return self.port
        for host in self.ports.values():
            match = _HOST_PORT.match(str(host))
            if match:
                return int(match["port"])
        return None

    def reference(self, release: str) -> str:
        """The image reference of ``release``: ``<image>:<release>``."""
        return f"{self.image}:{release}"
