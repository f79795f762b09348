"""A stateful fake Kubernetes API server, for tests and for trying things without a cluster.

No kube-apiserver can be installed from the package registries this project uses, so the
adapter's tests run against this fake, and real kubectl checks the fake (notes §4). It
serves discovery, Deployments (with ``/status`` and ``/scale``), ReplicaSets, Pods and
Namespaces; list and watch with resourceVersions, bookmarks and 410 Gone; JSON, merge and
strategic-merge patches; the registry's generation and resourceVersion rules and
defaulting; and simulates the Deployment and ReplicaSet controllers and the kubelet,
stepped by the test. See :class:`FakeCluster`; as a program, ``__main__``.

Imported only by tests and ``python -m``: the adapter never imports it.
"""

from wave_sdk_kubernetes.fake.clock import Clock, ManualClock
from wave_sdk_kubernetes.fake.cluster import FakeCluster, NotSettled
from wave_sdk_kubernetes.fake.faults import Request

__all__ = ["Clock", "FakeCluster", "ManualClock", "NotSettled", "Request"]
