"""wave-sdk's Kubernetes adapter: each release is an image tag on a Deployment.

``plugin`` announces the adapter and imports nothing heavy; the official ``kubernetes``
client (~330 ms to import) is imported only when a ``kubernetes`` target runs. ``fake`` is
a stateful fake API server for tests and for trying the adapter (and kubectl) without a
cluster: ``python -m wave_sdk_kubernetes.fake --kubeconfig PATH``. It is imported only by
tests and by ``python -m``.
"""

__version__ = "0.1.0"
