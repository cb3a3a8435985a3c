"""The worker's heartbeat file, touched by a real worker process, and the Kubernetes liveness probe
that reads it (deploy/k8s/base/worker.yaml): fresh while the worker's main loop runs, stale once it
hangs or stops."""

import os
import signal
import subprocess
import time
from pathlib import Path
from unittest import mock

import yaml

from backoffice.heartbeat import WorkerHeartbeat
from backoffice.processes import ROOT

WORKER_MANIFEST = ROOT / "deploy" / "k8s" / "base" / "worker.yaml"
INTERVAL = 0.5


def liveness_command() -> list[str]:
    """The worker container's liveness probe, as the base manifest has it."""
    deployment = yaml.safe_load(WORKER_MANIFEST.read_text())
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container["livenessProbe"]["exec"]["command"]


def probe(env: dict[str, str]) -> int:
    return subprocess.run(liveness_command(), env=env, capture_output=True, timeout=10).returncode


def mtimes(path: Path, seconds: float) -> set[float]:
    """The modification times the file had while we watched it."""
    seen = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.add(path.stat().st_mtime)
        time.sleep(0.05)
    return seen


class TestWorkerHeartbeat:
    def test_it_is_touched_while_the_worker_runs_and_goes_stale_when_it_hangs_or_stops(self, cluster, tmp_path):
        heartbeat = tmp_path / "worker.heartbeat"
        cluster.env = {
            **cluster.env,
            "WORKER_HEARTBEAT_FILE": str(heartbeat),
            "WORKER_HEARTBEAT_SECONDS": str(INTERVAL),
        }
        probe_env = {"PATH": os.environ["PATH"], "WORKER_HEARTBEAT_FILE": str(heartbeat),
                     "WORKER_HEARTBEAT_SECONDS": str(INTERVAL)}  # fmt: skip
        worker = cluster.worker("w1")
        worker.wait_for_line(r" ready\.$", timeout=60)

        # Touched again and again: about every INTERVAL, from the worker's own timer.
        assert len(mtimes(heartbeat, 3.0)) >= 4
        assert time.time() - heartbeat.stat().st_mtime < 3 * INTERVAL
        assert probe(probe_env) == 0

        # The main process frozen (a hung event loop): no more touches, and the probe says so.
        os.kill(worker.process.pid, signal.SIGSTOP)
        try:
            time.sleep(1.0)
            assert len(mtimes(heartbeat, 4.0)) == 1
            assert probe(probe_env) == 1
        finally:
            os.kill(worker.process.pid, signal.SIGCONT)
        # Alive again, fresh again.
        time.sleep(2 * INTERVAL + 0.5)
        assert probe(probe_env) == 0

        # Stopped: the file stays where it was and goes stale.
        worker.stop()
        stopped_at = heartbeat.stat().st_mtime
        time.sleep(4.0)
        assert heartbeat.stat().st_mtime == stopped_at
        assert probe(probe_env) == 1

    def test_the_probe_fails_without_a_heartbeat_file(self, tmp_path):
        env = {"PATH": os.environ["PATH"], "WORKER_HEARTBEAT_FILE": str(tmp_path / "never-written")}
        assert probe(env) == 1


class TestHeartbeatStep:
    def test_it_does_nothing_when_the_file_is_not_set(self, settings):
        settings.WORKER_HEARTBEAT_FILE = ""
        worker = mock.Mock()
        step = WorkerHeartbeat(worker)
        step.start(worker)
        worker.timer.call_repeatedly.assert_not_called()

    def test_it_touches_at_start_and_every_interval(self, settings, tmp_path):
        settings.WORKER_HEARTBEAT_FILE = str(tmp_path / "hb")
        settings.WORKER_HEARTBEAT_SECONDS = 7.0
        worker = mock.Mock()
        step = WorkerHeartbeat(worker)
        step.start(worker)
        assert (tmp_path / "hb").exists()
        assert worker.timer.call_repeatedly.call_args.args[0] == 7.0
        step.stop(worker)
        worker.timer.call_repeatedly.return_value.cancel.assert_called_once()
