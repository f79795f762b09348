"""``[targets.<name>]`` with ``adapter = "kubernetes"``: the configuration model.

Imports pydantic and wave_sdk only, so ``wave config validate`` and ``wave config schema``
never load the ``kubernetes`` client. Every field has a description: the configuration
reference and ``docs/adapters/kubernetes.md`` are written from them.
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from wave_sdk import Settings

CHANGE_CAUSE = "kubernetes.io/change-cause"
"""The annotation ``kubectl rollout history`` prints as CHANGE-CAUSE."""

RESERVED_PREFIXES = ("deployment.kubernetes.io/", "kubectl.kubernetes.io/")
"""Annotations the Deployment controller and kubectl own; ``annotations`` may not set them."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(
    rf"^(?:(?:[a-zA-Z0-9.-]+(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)/)?"
    rf"{_COMPONENT}(?:/{_COMPONENT})*$"
)
_ANNOTATION_KEY = re.compile(
    r"^(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)


class KubernetesTarget(Settings):
    """``[targets.<name>]`` with ``adapter = "kubernetes"``."""

    # -- the cluster -------------------------------------------------------------------
    kubeconfig: str | None = Field(
        None,
        description="Kubeconfig file, relative to the project (default: $KUBECONFIG, else "
        "~/.kube/config, else the in-cluster service account when wave runs in a pod).",
    )
    context: str | None = Field(
        None, description="Kubeconfig context to use (default: its current-context)."
    )
    namespace: str | None = Field(
        None,
        description="Namespace of the Deployment (default: the context's namespace, else "
        "'default').",
    )

    # -- the Deployment ----------------------------------------------------------------
    deployment: str = Field(description="Name of the Deployment a release is deployed to.")
    containers: dict[str, str] = Field(
        min_length=1,
        description="Container name → image repository, without a tag: a deploy sets each "
        "to '<repository>:<release>', e.g. { app = 'registry.example.com/shop/web' }. "
        "Containers not listed (sidecars) are left as they are; the first one listed names "
        "the live release.",
    )
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="Extra annotations set on the Deployment by each deploy (the controller "
        "copies them onto the release's ReplicaSet).",
    )
    change_cause: str = Field(
        "wave deploy {release}",
        description="The kubernetes.io/change-cause of each deploy, as `kubectl rollout "
        "history` shows it; {release}, {environment} and {commit} are filled in.",
    )

    # -- timing ------------------------------------------------------------------------
    timeout: float = Field(
        600.0,
        gt=0,
        description="Seconds a deploy or rollback waits for its rollout, on top of the "
        "Deployment's own progressDeadlineSeconds (whichever ends first); API retries "
        "(409, 429, 503) stay within it too.",
    )
    request_timeout: float = Field(
        30.0, gt=0, description="Seconds one API request (not a watch) may take."
    )

    # -- the app -----------------------------------------------------------------------
    url: str | None = Field(
        None,
        description="Where the app answers (an Ingress or Service URL): the base of the "
        "core's HTTP health checks.",
    )

    # -- build and push (optional: pip install 'wave-sdk-kubernetes[build]') -----------
    build: str | None = Field(
        None,
        description="Build context directory, relative to the project; `--source` overrides "
        "it. With one, the first container's image is built with Docker and pushed (needs "
        "wave-sdk-kubernetes[build]); without one, every '<repository>:<release>' must "
        "already be in the registry.",
    )
    dockerfile: str | None = Field(
        None, description="Dockerfile, relative to the build context (default: Dockerfile)."
    )
    build_args: dict[str, str | SecretStr] = Field(
        default_factory=dict, description="Build arguments (ARG); ${VAR} values stay secret."
    )
    docker_host: str | None = Field(
        None,
        description="Docker engine that builds and pushes (default: $DOCKER_HOST, else the "
        "local socket).",
    )

    # -- validation --------------------------------------------------------------------

    @field_validator("deployment")
    @classmethod
    def _deployment_name(cls, value: str) -> str:
        if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
            raise ValueError(
                f"{value!r} is not a Deployment name: use lower-case letters, digits, '-' "
                "and '.', starting and ending with a letter or digit"
            )
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 63 or not _DNS_LABEL.match(value)):
            raise ValueError(
                f"{value!r} is not a namespace: use lower-case letters, digits and '-'"
            )
        return value

    @field_validator("containers")
    @classmethod
    def _containers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, repository in value.items():
            if len(name) > 63 or not _DNS_LABEL.match(name):
                raise ValueError(
                    f"{name!r} is not a container name: use lower-case letters, digits and '-'"
                )
            if "@" in repository or ":" in repository.rsplit("/", 1)[-1]:
                raise ValueError(
                    f"{name} = {repository!r} has a tag or digest: write the repository only "
                    "(wave tags each image with its release id)"
                )
            if not _REPOSITORY.match(repository):
                raise ValueError(
                    f"{name} = {repository!r} is not an image repository: use lower-case "
                    "names such as 'app' or 'registry.example.com:5000/team/app'"
                )
        return value

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _ANNOTATION_KEY.match(key):
                raise ValueError(f"{key!r} is not an annotation key: write 'prefix/name'")
            if key == CHANGE_CAUSE or key.startswith(RESERVED_PREFIXES):
                raise ValueError(
                    f"annotation {key!r} is set by wave, kubectl or the controller: use "
                    "`change_cause` for the change-cause, another key otherwise"
                )
        return value

    @field_validator("change_cause")
    @classmethod
    def _change_cause(cls, value: str) -> str:
        try:
            value.format(release="r", environment="e", commit="c")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"{value!r}: only {{release}}, {{environment}} and {{commit}} can be filled in"
            ) from exc
        return value

    # -- derived values ----------------------------------------------------------------

    @property
    def primary(self) -> str:
        """The container whose image tag names the live release."""
        return next(iter(self.containers))

    def image(self, container: str, release: str) -> str:
        """The image reference of ``release`` for ``container``: ``<repository>:<release>``."""
        return f"{self.containers[container]}:{release}"

    def release_of(self, image: str | None) -> str | None:
        """The release an image of the primary container is, or ``None`` if not one of ours."""
        repository = self.containers[self.primary]
        if image is None or not image.startswith(repository + ":"):
            return None
        tag = image[len(repository) + 1 :]
        return tag or None
