"""What a new machine has: a fresh clone of the checkout and an environment without this test run's
virtualenv or settings. Used by the tests that install the product from its lock as a newcomer
(tests/test_make_run.py) or as the image does (tests/deploy/test_image_install.py)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backoffice.processes import ROOT

# What a newcomer's shell has that matters here: the machine's own settings (where pip finds packages,
# the locale), nothing of this test run (its settings, its virtualenv, the make that started it).
_KEPT = re.compile(r"^(PATH|HOME|USER|LOGNAME|SHELL|TERM|TMPDIR|TZ|LANG|LANGUAGE|LC_\w+|PIP_\w+)$")


def _git(*args: str) -> list[str]:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return [name for name in out.split("\0") if name]


def fresh_clone(target: Path) -> Path:
    """`git clone` of this checkout, with the working tree's uncommitted changes laid on top (on a
    clean checkout, as in CI, that is the clone alone). No .venv, no var/, no .env: nothing ignored."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to clone")
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(target)], check=True)
    for name in _git("diff", "-z", "--name-only", "--diff-filter=d", "HEAD") + _git(
        "ls-files", "-z", "--others", "--exclude-standard"
    ):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    for name in _git("diff", "-z", "--name-only", "--diff-filter=D", "HEAD"):
        (target / name).unlink(missing_ok=True)
    return target


def outside_env(**overrides: str) -> dict[str, str]:
    """The machine's part of this process's environment, without this virtualenv on PATH, so that
    `python3` is the machine's own, as in a newcomer's shell."""
    env = {k: v for k, v in os.environ.items() if _KEPT.match(k)}
    ours = {str(Path(sys.prefix) / "bin"), str(Path(sys.executable).parent)}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p not in ours)
    env.update(overrides)
    return env


def assert_runtime_only(venv: Path) -> None:
    """The virtualenv holds requirements.txt's closure, consistent, and none of the test tools."""
    python = str(venv / "bin" / "python")
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    probe = "import importlib.util as u; print([m for m in ('pytest', 'playwright', 'hypothesis') if u.find_spec(m)])"
    found = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert found == "[]", f"{venv} has test tools: {found}"
