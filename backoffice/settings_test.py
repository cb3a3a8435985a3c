"""Settings for the test suite: the real settings with a throwaway key and fast hashing.

DATABASE_URL still decides the database: SQLite when unset, PostgreSQL in CI.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-suite-only-key-not-used-anywhere-else")

from backoffice.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
