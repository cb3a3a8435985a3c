"""The Kubernetes manifests (deploy/k8s) as `kubectl kustomize` renders them, without a cluster.

Without kubectl these tests are skipped, unless REQUIRE_KUBECTL=1 (CI sets it) makes that a failure.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from backoffice.processes import ROOT

KUBECTL = os.environ.get("KUBECTL_PATH") or shutil.which("kubectl") or "/usr/bin/kubectl"
K8S_DIR = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(path.name for path in (K8S_DIR / "overlays").iterdir() if (path / "kustomization.yaml").is_file())


def require_kubectl() -> None:
    """Skip the test without kubectl; fail it instead under REQUIRE_KUBECTL=1."""
    if Path(KUBECTL).is_file() and os.access(KUBECTL, os.X_OK):
        return
    if os.environ.get("REQUIRE_KUBECTL") == "1":
        pytest.fail(f"REQUIRE_KUBECTL=1 but {KUBECTL} is missing (apt-get install kubectl, or KUBECTL_PATH=...)")
    pytest.skip("kubectl missing: apt-get install kubectl (from pkgs.k8s.io; CI does), or set KUBECTL_PATH")


def render(folder: Path) -> list[dict]:
    """The resources `kubectl kustomize` renders from a kustomization folder."""
    require_kubectl()
    result = subprocess.run([KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"kubectl kustomize {folder.relative_to(ROOT)} failed:\n{result.stderr}"
    return [document for document in yaml.safe_load_all(result.stdout) if document]
