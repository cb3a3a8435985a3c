"""Settings for the test suite: the real settings with a throwaway key and fast hashing.

DATABASE_URL still decides the database: SQLite when unset, PostgreSQL in CI.
Redis is real; each test run gets its own cache key prefix and Celery queue (on
database 14), which worker processes started by the tests inherit.
"""

import os
import uuid
from pathlib import Path

_run = uuid.uuid4().hex[:8]
os.environ.setdefault("SECRET_KEY", "test-suite-only-key-not-used-anywhere-else")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("CACHE_KEY_PREFIX", f"test-{_run}")
os.environ.setdefault("CELERY_QUEUE", f"test-{_run}")
# Rate limits on, at rates no test reaches by accident (all of a run's anonymous requests come from
# one address); the tests of the limits set their own.
os.environ.setdefault("API_RATE_PER_USER", "100000/minute")
os.environ.setdefault("API_RATE_PER_ADDRESS", "100000/minute")
os.environ.setdefault("TEST_MESSAGES_PER_HOUR", "10000")

from backoffice.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The test client (and a browser against the live server) speaks plain HTTP.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Templates name static files without `collectstatic` having run.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# WhiteNoise looks for the collected files at start-up.
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # noqa: F405
