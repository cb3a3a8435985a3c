"""Settings of the mailing back-office, read from the environment.

Every knob is an environment variable (see `.env.example`); a `.env` file at the
top of the checkout is read too. Defaults are for development on one machine:
SQLite under `var/`, no secret to set while `DEBUG` is on. Every variable is in
docs/configuration.md.

It is over 300 lines because Django reads one settings module: each group below (Django,
HTTPS, the API, the broker and cache, sending, the admin, e-mail, logging) is short and starts
with a comment.
"""

import ipaddress
import re
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from backoffice.flags import parse_flag
from backoffice.rates import parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")


def env_bool(name: str, *, default: bool) -> bool:
    """A boolean variable (see backoffice/flags.py): a word that is neither yes nor no stops start-up."""
    try:
        return parse_flag(name, env.str(name, default=None), default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def _development_secret_key() -> str:
    """A key kept under var/ so that sessions survive restarts; never used unless DEBUG is on."""
    VAR_DIR.mkdir(exist_ok=True)
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is not set: set it in the environment (or set DEBUG=1 for development)")
    SECRET_KEY = _development_secret_key()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "backoffice.apps.BackofficeAdminConfig",  # django.contrib.admin with our site (admin.site)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    "axes",
    "mailings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the web process (gunicorn in production), compressed and cached.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it answers a locked-out login (django-axes).
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy (django-csp) on every answer: scripts, styles and images only from our
# own static files (no inline script, event handler, style attribute or eval), no plugin, no
# framing, forms posted only here. A page that needs data reads it from data- attributes or
# json_script; /docs/ adds data: images (backoffice/urls.py). See docs/operations.md.
# After WhiteNoise (static files need no policy); before whatever may answer (a locked-out login).
MIDDLEWARE.insert(MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1, "csp.middleware.CSPMiddleware")
INSTALLED_APPS.append("csp")  # its system checks of these settings
_csp_report_uri = env.str("CSP_REPORT_URI", default="").strip()  # not a CSP_* setting: django-csp 4 refuses those
if _csp_report_uri and not re.fullmatch(r"https?://[^/\s;,]+(?:/[^\s;,]*)?|/[^\s;,]*", _csp_report_uri):
    raise ImproperlyConfigured(
        f"CSP_REPORT_URI: {_csp_report_uri!r} is not a URL (expected https://reports.example.com/csp or /csp-reports/)"
    )
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        **({"report-uri": [_csp_report_uri]} if _csp_report_uri else {}),
    }
}

# Login brute force: after AXES_FAILURE_LIMIT wrong passwords for one user name from one
# address, that pair is locked out for AXES_COOLOFF_MINUTES (the API's tokens are not passwords
# and are not affected). Behind reverse proxies set TRUSTED_PROXY_COUNT to how many of ours stand
# in front, so the client's address is read from X-Forwarded-For (backoffice/client_ip.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # each failed login, listed in the admin
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "backoffice.client_ip.client_ip"

# Admin single sign-on through OpenID Connect (backoffice/sso_settings.py, docs/sso.md): off unless
# OIDC_RP_CLIENT_ID and OIDC_ISSUER are set. ADMIN_PASSWORD_LOGIN=0 leaves SSO as the only way in:
# no password backend at all, so no password signs in anywhere (axes stays: it checks nothing then).
from backoffice.sso_settings import read_sso_settings, sso_origins  # noqa: E402

globals().update(read_sso_settings(env, env_bool))
if SSO_ENABLED:  # noqa: F821 (set just above)
    AUTHENTICATION_BACKENDS.append("mailings.sso.backend.SsoBackend")
    # The admin's logout form ends on the provider's logout page: a form's redirect is under form-action.
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] += sso_origins(OIDC_ISSUER, OIDC_OP_LOGOUT_ENDPOINT)  # noqa: F821
if not ADMIN_PASSWORD_LOGIN:  # noqa: F821
    AUTHENTICATION_BACKENDS.remove("django.contrib.auth.backends.ModelBackend")

ROOT_URLCONF = "backoffice.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mailings.context_processors.provider",
            ],
        },
    },
]

WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

# Database: PostgreSQL in production and CI (DATABASE_URL=postgres://...),
# a SQLite file under var/ when nothing is set.
_default_sqlite = VAR_DIR / "db.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{_default_sqlite}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL and immediate transactions let the web server and workers share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE", "timeout": 20}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Datetimes are stored in UTC; TIME_ZONE is how naive input is read and how
# output is shown.
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names (cached for ever by browsers) need `collectstatic`, which the image runs;
    # development serves the files from the apps as they are.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "admin:login"


# Rate limits, counted in the shared cache (mailings/rate_limits.py): the API's, in REST_FRAMEWORK
# below, and the test messages each admin user may send an hour, superusers included (each one
# is on the provider's bill).
def env_rate(name: str, *, default: str) -> str:
    """A rate such as `1200/minute` (backoffice/rates.py): anything else stops start-up."""
    raw = env.str(name, default=default)
    try:
        parse_rate(name, raw)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    return raw


TEST_MESSAGES_PER_HOUR = env.int("TEST_MESSAGES_PER_HOUR", default=20)
if TEST_MESSAGES_PER_HOUR < 1:
    raise ImproperlyConfigured(f"TEST_MESSAGES_PER_HOUR={TEST_MESSAGES_PER_HOUR}: expected 1 or more")

REST_FRAMEWORK = {
    # Token first: its "Token" challenge makes a request without credentials a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["mailings.api.permissions.ModelPermissions"],
    # Requests per user (its token and its admin session share one allowance) and, without valid
    # credentials, per client address as TRUSTED_PROXY_COUNT reads it; past either, a 429.
    "DEFAULT_THROTTLE_CLASSES": [
        "mailings.api.throttling.PerUserThrottle",
        "mailings.api.throttling.PerAddressThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_rate("API_RATE_PER_USER", default="1200/minute"),
        "anon": env_rate("API_RATE_PER_ADDRESS", default="60/minute"),
        "inbound": env_rate("INBOUND_RATE", default="600/minute"),  # per provider (mailings/api/inbound.py)
        # Requests per provider (mailings/api/delivery_reports.py); each may carry 1,000 reports.
        "delivery_reports": env_rate("DELIVERY_REPORT_RATE", default="6000/minute"),
    },
    # The page size is the class's, set beside its maximum: no PAGE_SIZE here.
    "DEFAULT_PAGINATION_CLASS": "mailings.api.pagination.LinkHeaderPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON only: the browsable API would render a <select> of every client.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "mailings.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "mailings.api.schema.ApiSchema",
    "EXCEPTION_HANDLER": "mailings.api.errors.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Mailing back-office API",
    "DESCRIPTION": (
        "Clients, mailings, messages and statistics of the SMS back-office, at the paths "
        "of the original Mailer API. Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["mailings.api.permissions.CanReadTheApi"],  # the schema and /docs/: readers only
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "MessageStatusEnum": "mailings.models.Message.Status",
        "MailingStatusEnum": "mailings.models.Mailing.Status",
    },
}

# Redis: the Celery broker and the cache shared by every process (the provider circuit).
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {"default": env.cache("CACHE_URL", default=REDIS_URL.rsplit("/", 1)[0] + "/1")}
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="backoffice")
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # The admin and the API must answer fast even when Redis does not.
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 2, "socket_timeout": 2})

# Celery (see backoffice/celery.py): JSON only, time limits, one beat with the database scheduler.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # our LOGGING (key=value or JSON) applies in workers too
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
# The tick has a queue of its own, so that it never waits behind a backlog of send
# batches; a worker with no -Q option consumes both (in turns).
CELERY_TICK_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}.ticks"
CELERY_TASK_QUEUES = [Queue(CELERY_TICK_QUEUE), Queue(CELERY_TASK_DEFAULT_QUEUE)]
CELERY_TASK_ROUTES = {"mailings.tasks.process_active_mailings": {"queue": CELERY_TICK_QUEUE}}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Publishing from a web request must not hang when the broker is down: the next tick catches up.
CELERY_BROKER_TRANSPORT_OPTIONS.update({"socket_connect_timeout": 2, "socket_timeout": 5})
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The broker that needs nothing (`make run` without Redis): message files in a folder, so
    # every process must see the same disk: one machine only.
    _broker_folder = Path(env.str("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "broker")))
    _broker_folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_folder),
        "data_folder_out": str(_broker_folder),
        "control_folder": str(_broker_folder / "control"),
        "store_processed": False,
    }

# The worker's heartbeat (backoffice/heartbeat.py): a file its main process touches every
# WORKER_HEARTBEAT_SECONDS, for a liveness probe that reads the file's age; off when unset.
WORKER_HEARTBEAT_FILE = env.str("WORKER_HEARTBEAT_FILE", default="")
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=10.0)
if WORKER_HEARTBEAT_SECONDS <= 0:
    raise ImproperlyConfigured(
        f"WORKER_HEARTBEAT_SECONDS={WORKER_HEARTBEAT_SECONDS}: expected a number of seconds above 0"
    )

# A mailing's text may cost at most this many SMS parts per message (mailings/segments.py): 10
# parts are 1,530 GSM-7 characters or 670 UCS-2 ones. At most 65 (the text's 10,000 characters).
MAILING_MAX_PARTS = env.int("MAILING_MAX_PARTS", default=10)
if not 1 <= MAILING_MAX_PARTS <= 65:
    raise ImproperlyConfigured(f"MAILING_MAX_PARTS is {MAILING_MAX_PARTS}: give a number of SMS parts from 1 to 65.")

# The SMS providers (docs/provider-openapi.yaml), by name (backoffice/provider_settings.py):
# `default` is SENDING_API_URL / SENDING_API_TOKEN, the sandbox (`manage.py sandbox_gateway`)
# unless set, with SENDING_PARTS_PER_SECOND, SENDING_API_ENABLED, INBOUND_SECRET and
# DELIVERY_REPORT_SECRET; SENDING_PROVIDERS names the others.
SENDING_API_URL = env.str("SENDING_API_URL", default="http://127.0.0.1:8025").rstrip("/")
SENDING_API_TOKEN = env.str("SENDING_API_TOKEN", default="sandbox-token" if DEBUG else "")
from backoffice.provider_settings import read_provider_settings  # noqa: E402

globals().update(read_provider_settings(env, env_bool))
SENDING_CONNECT_TIMEOUT = env.float("SENDING_CONNECT_TIMEOUT", default=3.0)
SENDING_READ_TIMEOUT = env.float("SENDING_READ_TIMEOUT", default=10.0)
SENDING_CONCURRENCY = env.int("SENDING_CONCURRENCY", default=250)  # requests in flight per worker process
SENDING_BATCH_SIZE = env.int("SENDING_BATCH_SIZE", default=1000)
SENDING_MAX_QUEUED = env.int("SENDING_MAX_QUEUED", default=10_000)  # messages queued for workers at once
SENDING_QUEUE_GRACE = env.float("SENDING_QUEUE_GRACE", default=300.0)  # a lost batch is queued again after this
SENDING_LEASE = env.float("SENDING_LEASE", default=120.0)  # a stuck worker's messages go back after this
# A worker process's heartbeat key lives this long, renewed every third of it (mailings/sending/liveness.py).
SENDING_HEARTBEAT_TTL = env.float("SENDING_HEARTBEAT_TTL", default=3.0)
# Answers accepted and not yet recorded per worker process, at most about this many (sending/pacing.py);
# 0: off (it trades throughput for fewer second copies after a kill: docs/reliability.md).
SENDING_UNRECORDED_TARGET = env.int("SENDING_UNRECORDED_TARGET", default=0)
SENDING_MAX_ATTEMPTS = env.int("SENDING_MAX_ATTEMPTS", default=10)
SENDING_BACKOFF_BASE = env.float("SENDING_BACKOFF_BASE", default=2.0)
SENDING_BACKOFF_CAP = env.float("SENDING_BACKOFF_CAP", default=300.0)
SENDING_CIRCUIT_THRESHOLD = env.int("SENDING_CIRCUIT_THRESHOLD", default=20)  # transient failures in a row
SENDING_CIRCUIT_COOLDOWN = env.float("SENDING_CIRCUIT_COOLDOWN", default=5.0)
SENDING_CIRCUIT_MAX_COOLDOWN = env.float("SENDING_CIRCUIT_MAX_COOLDOWN", default=120.0)
SENDING_TICK_SECONDS = env.int("SENDING_TICK_SECONDS", default=10)  # the periodic task's initial interval
# Delivery reports (`POST /providers/<name>/delivery-reports/`, mailings/delivery_reports.py): a sent
# message without a report this long after sending is unknown for good ("no report"); a later
# report is refused as late. Hours.
DELIVERY_REPORT_TIMEOUT = timedelta(hours=env.float("DELIVERY_REPORT_TIMEOUT_HOURS", default=72.0))

# Replies the provider delivers to `POST /inbound/default/` (mailings/inbound.py): refused while
# INBOUND_SECRET is empty. An opt-out word puts the phone on the do-not-contact list, an opt-in
# word takes it off if a STOP reply put it there. Words are comma-separated, matched ignoring case.
# Where the sandbox provider (`manage.py sandbox_gateway`) delivers the replies it is asked to send.
SANDBOX_INBOUND_URL = env.str("SANDBOX_INBOUND_URL", default="http://127.0.0.1:8000/inbound/default/")
OPT_OUT_WORDS = env.list("OPT_OUT_WORDS", default=["STOP", "СТОП", "ОТПИСАТЬСЯ", "UNSUBSCRIBE"])
OPT_IN_WORDS = env.list("OPT_IN_WORDS", default=["START", "СТАРТ"])  # noqa: RUF001 (Cyrillic on purpose)

# CSV import and export of clients (django-import-export). Importing needs the "add client" and
# "change client" permissions (see ClientAdmin.has_import_permission), so viewers see no import
# button. The uploaded file waits for its confirmation in a folder every web process of the
# machine shares, not in Redis (mailings/uploads.py). Each import is logged, not each of its rows.
# Exporting needs "export client" (the code "export" names `mailings.export_client`) and "view
# client" (ClientAdmin.has_export_permission): Operators have them, Viewers do not.
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_TMP_STORAGE_CLASS = "mailings.uploads.UploadFolder"
IMPORT_EXPORT_SKIP_ADMIN_LOG = True
# Where uploads wait: the system's temporary folder (writable in the image too) unless set.
CLIENT_IMPORT_UPLOAD_DIR = env.str(
    "CLIENT_IMPORT_UPLOAD_DIR", default=str(Path(tempfile.gettempdir()) / "backoffice-uploads")
)
# How often the mailing list refreshes its progress bars and counts in place.
ADMIN_LIVE_COUNTS_SECONDS = env.float("ADMIN_LIVE_COUNTS_SECONDS", default=5.0)
# Lines per imported file besides the header, blank ones too: each of its two requests (preview,
# confirm) stays well within 30 s.
CLIENT_IMPORT_MAX_ROWS = env.int("CLIENT_IMPORT_MAX_ROWS", default=300_000)
# Megabytes per imported file: a bigger one is refused before it is read (a 300,000-row file is about 15 MB).
CLIENT_IMPORT_MAX_MB = env.float("CLIENT_IMPORT_MAX_MB", default=64)
# How long an upload waits for its confirmation; a preview that found errors keeps nothing.
CLIENT_IMPORT_KEEP_SECONDS = env.int("CLIENT_IMPORT_KEEP_SECONDS", default=3600)

# Error pages (DEBUG) and error e-mails: no credential, URL passwords included.
DEFAULT_EXCEPTION_REPORTER_FILTER = "backoffice.error_pages.CredentialsFilter"

# Logging: `key=value` context on every line about a mailing, message or client;
# LOG_FORMAT=json gives one JSON object per line.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "backoffice.logs.KeyValueFormatter"},
        "json": {"()": "backoffice.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "text"}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # django-axes announces itself in every process at INFO; lockouts and failures stay visible (WARNING).
    "loggers": {"celery": {"level": LOG_LEVEL}, "axes": {"level": "WARNING"}},
}

# Behind HTTPS in production: every default here is the safe one when DEBUG is off, and each
# can be turned off from the environment (e.g. a plain-HTTP staging box).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and Prometheus speak plain HTTP inside the network: no redirect for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# Preloading is a promise to browsers that is slow to take back: the operator opts in.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Only behind a proxy that sets this header itself (and strips it from clients):
# SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto tells Django the request came in over HTTPS.
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")

# E-mail (the daily statistics report): printed to the console in development, SMTP otherwise.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="backoffice@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
DAILY_REPORT_RECIPIENTS = [a.strip() for a in env.list("DAILY_REPORT_RECIPIENTS", default=[]) if a.strip()]
for _address in DAILY_REPORT_RECIPIENTS:
    if not re.fullmatch(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+", _address):
        raise ImproperlyConfigured(
            f"DAILY_REPORT_RECIPIENTS: {_address!r} is not an e-mail address (expected a@example.com,b@example.com)"
        )

# Where worker processes add up their provider requests for /metrics: the cache's Redis, or a
# file under var/ when there is no Redis (one machine only).
_cache_location = CACHES["default"].get("LOCATION", "")
METRICS_STORE_URL = env.str(
    "METRICS_STORE_URL",
    default=_cache_location
    if CACHES["default"]["BACKEND"].endswith("RedisCache") and isinstance(_cache_location, str)
    else f"file://{VAR_DIR / 'metrics.json'}",
)
# Who may read /metrics: a bearer token, and/or networks allowed without it; with neither, loopback only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(net.strip(), strict=False)
        for net in env.list("METRICS_ALLOWED_NETWORKS", default=[])
        if net.strip()
    ]
except ValueError as exc:
    raise ImproperlyConfigured(
        f"METRICS_ALLOWED_NETWORKS: {exc} (expected addresses or networks such as 10.0.0.0/8)"
    ) from None
