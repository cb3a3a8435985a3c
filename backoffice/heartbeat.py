"""The Celery worker's heartbeat: a file whose modification time says the worker's main loop runs.

With WORKER_HEARTBEAT_FILE set, the worker touches that file every WORKER_HEARTBEAT_SECONDS from
its own timer, the one its event loop drives: a worker whose main process hangs stops touching
it. A liveness probe then needs no Django and no broker, only the file's age (see
deploy/k8s/base/worker.yaml):

    python -c 'import os, sys, time; sys.exit(time.time() - os.stat(os.environ["WORKER_HEARTBEAT_FILE"]).st_mtime > 60)'
"""

import logging
import os
from pathlib import Path

from celery import bootsteps

logger = logging.getLogger(__name__)


def touch(path: Path) -> None:
    """Make the file if missing and set its modification time to now."""
    try:
        path.touch()
        os.utime(path)
    except OSError:
        # Logged, not raised: a full or read-only disk must not stop the worker's timer, and the
        # probe that reads the file's age then says what is wrong.
        logger.warning("worker heartbeat: cannot touch %s", path, exc_info=True)


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Touches WORKER_HEARTBEAT_FILE every WORKER_HEARTBEAT_SECONDS in the worker's main process."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.timer_ref = None

    def start(self, worker) -> None:
        from django.conf import settings

        path = settings.WORKER_HEARTBEAT_FILE
        if not path:
            return
        interval = settings.WORKER_HEARTBEAT_SECONDS
        touch(Path(path))
        self.timer_ref = worker.timer.call_repeatedly(interval, touch, (Path(path),), priority=10)
        logger.info("worker heartbeat: touching %s every %ss", path, interval)

    def stop(self, worker) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None
