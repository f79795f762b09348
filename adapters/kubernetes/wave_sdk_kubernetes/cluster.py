"""Reaching the API server: the official client, configured once, and the calls wave makes.

Every call returns the API's JSON as dicts (camelCase, as the server sent it), so the
decisions in :mod:`wave_sdk_kubernetes.rollout` and :mod:`wave_sdk_kubernetes.health` are
ports of kubectl's Go over the same shapes. Every call runs through
:func:`wave_sdk_kubernetes.errors.call`: retried within the deadline, mapped on failure.

The client is imported here and nowhere earlier: ``wave adapters`` and ``config validate``
never reach this module.

Where the cluster is (the same order as kubectl and client-go): ``kubeconfig`` of the
target; else ``$KUBECONFIG`` (a ``:``-separated list is merged) or ``~/.kube/config`` when
that file exists; else the service account of the pod wave runs in.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from wave_sdk_kubernetes import errors
from wave_sdk_kubernetes.errors import KubeconfigError
from wave_sdk_kubernetes.rollout import Obj

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api

    from wave_sdk_kubernetes.config import KubernetesTarget

T = TypeVar("T")

IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
WATCH_SECONDS = 300
"""Longest watch request; the server ends it then and the wait watches again from there."""
PAGE = 500
"""Items per list request (kubectl's ``--chunk-size``)."""


def kubeconfig_path(config: KubernetesTarget, root: Path) -> str | None:
    """The kubeconfig file(s) to read, or ``None`` to use the in-cluster account."""
    if config.kubeconfig:
        path = Path(config.kubeconfig).expanduser()
        return str(path if path.is_absolute() else root / path)
    env = os.environ.get("KUBECONFIG")
    if env:
        return env
    default = Path("~/.kube/config").expanduser()
    if default.is_file() or not os.environ.get("KUBERNETES_SERVICE_HOST"):
        return str(default)  # (when neither exists, the error names the usual file)
    return None


def selector(deployment: Obj) -> str:
    """The Deployment's ``spec.selector`` as a label selector string."""
    chosen: Obj = (deployment.get("spec") or {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in sorted((chosen.get("matchLabels") or {}).items())]
    for expression in chosen.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = ",".join(expression.get("values") or [])
        if operator == "In":
            parts.append(f"{key} in ({values})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif operator == "Exists":
            parts.append(str(key))
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


class Cluster:
    """One target's Deployment on one API server; connected on first use."""

    def __init__(self, config: KubernetesTarget, root: Path) -> None:
        self.config = config
        self.root = root
        self._client: ApiClient | None = None
        self._namespace: str | None = config.namespace
        self.server = "(not connected)"
        self.deadline = time.monotonic() + config.timeout
        """The current operation's deadline (:func:`time.monotonic`); see :meth:`start`."""
        self.on_retry: Callable[[str], None] | None = None

    # -- connection --------------------------------------------------------------------

    def start(self, seconds: float | None = None) -> None:
        """Begin an operation: its API calls, retries and waits end within ``seconds``."""
        self.deadline = time.monotonic() + (seconds or self.config.timeout)

    @property
    def client(self) -> ApiClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> ApiClient:
        try:
            from kubernetes import client
            from kubernetes import config as kubeconfig
            from kubernetes.config.config_exception import ConfigException
        except ImportError as exc:  # pragma: no cover - a broken install
            raise KubeconfigError(f"the kubernetes client cannot be imported: {exc}") from exc
        configuration = client.Configuration()
        path = kubeconfig_path(self.config, self.root)
        try:
            if path is None:
                kubeconfig.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
                if self._namespace is None and IN_CLUSTER_NAMESPACE.is_file():
                    self._namespace = IN_CLUSTER_NAMESPACE.read_text().strip() or None
            else:
                self._check_files(path)
                kubeconfig.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=path,
                    context=self.config.context,
                    client_configuration=configuration,
                    persist_config=False,
                )
                if self._namespace is None:
                    self._namespace = self._context_namespace(path)
        except ConfigException as exc:
            where = path or "the in-cluster service account"
            raise KubeconfigError(
                f"cannot use {where}: {exc}",
                hint="set `kubeconfig` and `context` in the target (kubectl config "
                "get-contexts lists the contexts)",
            ) from exc
        self.server = str(configuration.host)
        return client.ApiClient(configuration)

    def _check_files(self, path: str) -> None:
        files = [p for p in path.split(os.pathsep) if p]
        if not any(Path(p).expanduser().is_file() for p in files):
            raise KubeconfigError(
                f"no kubeconfig at {path}",
                hint="set `kubeconfig` in the target, or KUBECONFIG, to the file kubectl uses",
            )

    def _context_namespace(self, path: str) -> str | None:
        from kubernetes import config as kubeconfig

        contexts, current = kubeconfig.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
        wanted = self.config.context or (current or {}).get("name")
        for context in contexts or []:
            if context.get("name") == wanted:
                namespace = (context.get("context") or {}).get("namespace")
                return str(namespace) if namespace else None
        return None

    @property
    def namespace(self) -> str:
        self.client  # noqa: B018 - connecting settles the namespace
        return self._namespace or "default"

    @property
    def apps(self) -> AppsV1Api:
        from kubernetes.client import AppsV1Api

        return AppsV1Api(self.client)

    @property
    def core(self) -> CoreV1Api:
        from kubernetes.client import CoreV1Api

        return CoreV1Api(self.client)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]
            self._client = None

    # -- calls -------------------------------------------------------------------------

    def call(self, operation: Callable[[], T], action: str) -> T:
        """Run ``operation`` with retries within the deadline; map what escapes."""
        self.client  # noqa: B018 - a kubeconfig error is raised as it is
        return errors.call(
            operation,
            action=action,
            server=self.server,
            deadline=self.deadline,
            on_retry=self.on_retry,
        )

    @staticmethod
    def raw(response: Any) -> Any:
        """The JSON the server sent, from a call made with ``_preload_content=False``.

        The client's models are not used for what wave reads: serialised back they are not
        what the server sent (timestamps come back as ``+00:00`` where the server wrote
        ``Z``), while a watch event's ``raw_object`` is; one shape for both keeps every
        comparison honest, and skips a validation round trip per object.
        """
        return json.loads(response.data)

    @property
    def _timeout(self) -> float:
        return max(0.1, min(self.config.request_timeout, self.deadline - time.monotonic()))

    def read_deployment(self) -> Obj:
        deployment: Obj = self.raw(
            self.apps.read_namespaced_deployment(
                self.config.deployment,
                self.namespace,
                _request_timeout=self._timeout,
                _preload_content=False,
            )
        )
        return deployment

    def patch_deployment(self, body: Obj | list[Obj]) -> Obj:
        """Strategic merge patch for a dict body, JSON patch for a list (the client's rule)."""
        deployment: Obj = self.raw(
            self.apps.patch_namespaced_deployment(
                self.config.deployment,
                self.namespace,
                body,
                _request_timeout=self._timeout,
                _preload_content=False,
            )
        )
        return deployment

    def list_replicasets(self, deployment: Obj) -> list[Obj]:
        """The ReplicaSets the Deployment's selector catches (all pages)."""
        return self._list(self.apps.list_namespaced_replica_set, selector(deployment))

    def list_pods(self, deployment: Obj) -> list[Obj]:
        return self._list(self.core.list_namespaced_pod, selector(deployment))

    def _list(self, method: Callable[..., Any], labels: str) -> list[Obj]:
        items: list[Obj] = []
        token: str | None = None
        while True:
            page = self.raw(
                method(
                    self.namespace,
                    label_selector=labels,
                    limit=PAGE,
                    _continue=token,
                    _request_timeout=self._timeout,
                    _preload_content=False,
                )
            )
            items += page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def watch_deployment(self, resource_version: str) -> Iterator[tuple[str, Obj]]:
        """Events on the Deployment after ``resource_version``: ``(type, object)``.

        One watch request, ended by the server after at most :data:`WATCH_SECONDS` (or the
        time left). A 410 ``Expired`` is raised as the client's ``ApiException(410)``; a
        dropped connection as urllib3's error: the caller re-reads and watches again.
        """
        from kubernetes import watch

        left = self.deadline - time.monotonic()
        seconds = max(1, min(WATCH_SECONDS, int(left + 0.999)))
        stream = watch.Watch()  # type: ignore[no-untyped-call]
        try:
            for event in stream.stream(  # type: ignore[no-untyped-call]
                self.apps.list_namespaced_deployment,
                self.namespace,
                field_selector=f"metadata.name={self.config.deployment}",
                resource_version=resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=seconds,
                _request_timeout=(self.config.request_timeout, seconds + 5),
            ):
                yield str(event["type"]), event["raw_object"]
        finally:
            stream.stop()  # type: ignore[no-untyped-call]
