"""The Celery app: `celery -A backoffice worker`, `celery -A backoffice beat` (one beat only)."""

import os

from celery import Celery

from backoffice.heartbeat import WorkerHeartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# A file touched every few seconds while the worker's main loop runs (WORKER_HEARTBEAT_FILE).
app.steps["worker"].add(WorkerHeartbeat)
