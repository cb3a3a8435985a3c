"""The dependency locks: requirements.txt and requirements-dev.txt hold exactly the closure of their
inputs (requirements.in, requirements-dev.in), pinned with hashes, and `make lock` reproduces them.

The closure is computed from the installed packages' own metadata (this test run's virtualenv was
installed from the dev lock): a direct dependency missing from a lock, a lock line that nothing in
the input needs any more, or a pin outside the input's range fails here without a network. The last
test runs `make lock` itself on copies of the four files, which asks the package index.
"""

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from backoffice.processes import ROOT

RUNTIME_IN, RUNTIME_LOCK = ROOT / "requirements.in", ROOT / "requirements.txt"
DEV_IN, DEV_LOCK = ROOT / "requirements-dev.in", ROOT / "requirements-dev.txt"
LOCK_FILES = ("requirements.in", "requirements.txt", "requirements-dev.in", "requirements-dev.txt")
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


def read_inputs(path: Path) -> list[Requirement]:
    """The requirements of an input file, following `-r` (requirements) but not `-c` (constraints)."""
    found = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line.startswith("-c "):
            continue
        if line.startswith("-r "):
            found += read_inputs(path.parent / line[3:].strip())
            continue
        found.append(Requirement(line))
    return found


def read_pins(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """{name: (version, its hashes)} of every pin in a lock."""
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", path.read_text()):
        match = _PIN.match(block)
        if match:
            pins[canonicalize_name(match["name"])] = (match["version"], frozenset(re.findall(r"sha256:(\w+)", block)))
    return pins


def read_lock(path: Path) -> dict[str, str]:
    """{name: version} of every pin; each must carry hashes."""
    pins = read_pins(path)
    unhashed = sorted(name for name, (_, hashes) in pins.items() if not hashes)
    assert not unhashed, f"{path.name} pins {unhashed} without a hash"
    return {name: version for name, (version, _) in pins.items()}


def closure(requirements: list[Requirement]) -> dict[str, set[str]]:
    """{name: the names that asked for it} over the installed distributions' metadata, extras included."""
    needed: dict[str, set[str]] = {}
    queue = [(req, "(input)") for req in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    while queue:
        req, asked_by = queue.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        needed.setdefault(name, set()).add(asked_by)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue  # reported by the caller: a needed package that is not installed is not locked either
        for line in requires:
            sub = Requirement(line)
            extras = {""} | set(req.extras)
            if sub.marker is None or any(sub.marker.evaluate({"extra": extra}) for extra in extras):
                queue.append((Requirement(str(sub).split(";")[0]), name))
    return needed


# pip-tools pins these with --allow-unsafe; they are the installer's own, needed by nothing we import.
_INSTALLER = {"pip", "setuptools"}


@pytest.mark.parametrize(("source", "lock"), [(RUNTIME_IN, RUNTIME_LOCK), (DEV_IN, DEV_LOCK)], ids=["runtime", "dev"])
class TestTheLockIsTheClosureOfItsInput:
    def test_every_package_needed_is_pinned_and_nothing_else(self, source, lock):
        pins = read_lock(lock)
        needed = closure(read_inputs(source))
        missing = sorted(set(needed) - set(pins))
        assert not missing, f"{lock.name} lacks {missing}, needed by " + str({n: sorted(needed[n]) for n in missing})
        stale = sorted(set(pins) - set(needed) - _INSTALLER)
        assert not stale, f"{lock.name} pins {stale}, which nothing in {source.name} needs any more: `make lock`"

    def test_every_pin_is_within_its_input_range_and_installed(self, source, lock):
        pins = read_lock(lock)
        for req in read_inputs(source):
            name = canonicalize_name(req.name)
            assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is not {req}"
        for name, version in pins.items():
            if name not in _INSTALLER:
                assert importlib.metadata.version(name) == version, f"installed {name} is not the locked {version}"


class TestTheTwoLocksAgree:
    def test_the_tests_run_exactly_the_runtime_versions(self):
        runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)
        differ = {name: (version, dev.get(name)) for name, version in runtime.items() if dev.get(name) != version}
        assert not differ, f"(runtime, dev) versions differ: {differ}"

    def test_the_redis_transport_brings_what_it_imports(self):
        # kombu's Redis transport imports `packaging`, which only its `redis` extra declares.
        assert {"kombu", "redis", "packaging"} <= set(read_lock(RUNTIME_LOCK))
        assert any(req.name == "celery" and "redis" in req.extras for req in read_inputs(RUNTIME_IN))


def index_answers() -> bool:
    try:
        return urllib.request.urlopen("https://pypi.org/simple/pip-tools/", timeout=10).status == 200
    except OSError:
        return False


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
class TestMakeLock:
    def test_it_reproduces_both_locks(self, tmp_path):
        """The same pins, each with the same hashes as the index gives now: the header (which names
        the Python that ran it) may differ."""
        if not index_answers():
            pytest.skip("the package index does not answer: make lock needs it")
        for name in LOCK_FILES:
            shutil.copy2(ROOT / name, tmp_path / name)
        installed_dev = Path(sys.prefix) / ".installed-dev"
        result = subprocess.run(
            # Hashes asked of the index again, not reused from the lock: a wrong one would stay.
            ["make", "-f", str(ROOT / "Makefile"), f"VENV={sys.prefix}", "-o", str(installed_dev), "lock",
             "LOCK_ARGS=--no-reuse-hashes"],
            cwd=tmp_path, capture_output=True, text=True, timeout=600,
            env={k: v for k, v in os.environ.items() if k != "LOCK_ARGS" and not k.startswith("MAKE")},
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        for name in ("requirements.txt", "requirements-dev.txt"):
            assert read_pins(tmp_path / name) == read_pins(ROOT / name), f"`make lock` changes {name}"
