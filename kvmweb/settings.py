"""Settings, all read from the environment (see README "Configuration")."""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None):
    """A setting from NAME, or from the file named by NAME_FILE (for secrets)."""
    path = os.environ.get(name + "_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name, default="false"):
    return str(env(name, default)).lower() in ("1", "true", "yes", "on")


def envint(name, default):
    return int(env(name, str(default)))


# Where kvmweb keeps its own files: the generated secret key, the SSH key pair, known_hosts.
STATE_DIR = Path(env("KVMWEB_STATE_DIR", str(BASE_DIR / "var")))
STATE_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key():
    key = env("SECRET_KEY")
    if key:
        return key
    path = STATE_DIR / "secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", "false")
ALLOWED_HOSTS = [h for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "teams",
    "operations",
    "hosts",
    "networks",
    "vms",
    "hostnet",
    "topology",
    "consoles",
    "reachability",
    "drift",
    "django_prometheus",
    "health",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kvmweb.middleware.LoginRequiredEverywhere",
    "kvmweb.middleware.ConflictPage",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "kvmweb.urls"
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
            ],
        },
    },
]
WSGI_APPLICATION = None
ASGI_APPLICATION = "kvmweb.asgi.application"

# SQLite is the embedded default; DATABASE_URL=postgres://… selects PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{STATE_DIR / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, workers, watcher) write; wait for the lock instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": str(STATE_DIR / "test-db.sqlite3")}
elif env("KVMWEB_TEST_DB_NAME", ""):
    # ./test names the PostgreSQL test database per run, so two runs on one cluster do not collide.
    DATABASES["default"]["TEST"] = {"NAME": env("KVMWEB_TEST_DB_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "hosts:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = STATE_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Served by WhiteNoise from the app itself, so a bare `daphne` needs no web server in front.
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "false")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
# Redis Sentinel (README "Scaling out"): REDIS_SENTINELS=host:port,host:port names the
# sentinels, REDIS_SENTINEL_MASTER the master they watch. Then kvmweb's own Redis use
# (kvmweb.redisconn), the channel layer and the Celery broker all follow the master the
# sentinels name; REDIS_URL gives only the database number and the password.


def _sentinel(item):
    host, _, port = item.rpartition(":")
    return (host, int(port)) if host else (item, 26379)


REDIS_SENTINELS = [_sentinel(h) for h in env("REDIS_SENTINELS", "").replace(" ", "").split(",") if h]
REDIS_SENTINEL_MASTER = env("REDIS_SENTINEL_MASTER", "mymaster")
_redis_url = urlparse(REDIS_URL)
_redis_db = int((_redis_url.path or "/0").lstrip("/") or 0)
_redis_password = unquote(_redis_url.password) if _redis_url.password else None
# redis-py 8 reads with a 5 s socket timeout by default, exactly as long as the blocking
# pop channels-redis waits on (5 s): on a busy machine the read timed out, the consumer
# crashed and every open page's websocket dropped. Reads may take longer than the pop.
if REDIS_SENTINELS:
    _channel_host = {"sentinels": REDIS_SENTINELS, "master_name": REDIS_SENTINEL_MASTER,
                     "db": _redis_db, "password": _redis_password, "socket_timeout": 30}
else:
    _channel_host = {"address": REDIS_URL, "socket_timeout": 30}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [_channel_host],
                   "prefix": env("KVMWEB_CHANNEL_PREFIX", "kvmweb")},
    }
}

if REDIS_SENTINELS:
    _auth = f":{_redis_url.password}@" if _redis_url.password else ""
    _default_broker = ";".join(f"sentinel://{_auth}{h}:{p}/{_redis_db}" for h, p in REDIS_SENTINELS)
else:
    _default_broker = REDIS_URL
CELERY_BROKER_URL = env("CELERY_BROKER_URL", _default_broker)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "kvmweb")
# The database, not the broker, says which operations still have to run (operations.reaper
# re-enqueues a queued one whose message was lost, resumes or fails a running one whose worker
# died). So Redis only rings the bell: no ack emulation. With it, a worker holding unacked
# messages when Redis restarts crashed ("Unrecoverable error" restoring them to a dead Redis),
# and a killed worker's message came back an hour later.
CELERY_BROKER_TRANSPORT_OPTIONS = {"ack_emulation": False}
if CELERY_BROKER_URL.startswith("sentinel://"):
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = REDIS_SENTINEL_MASTER
CELERY_BEAT_SCHEDULE = {
    "reap-operations": {
        "task": "operations.tasks.reap_operations",
        "schedule": float(envint("KVMWEB_REAP_INTERVAL", 3)),
    },
    "check-hosts": {
        "task": "hosts.tasks.check_all_hosts",
        "schedule": float(envint("KVMWEB_HEALTH_INTERVAL", 30)),
    },
    "sync-hosts": {
        "task": "hosts.tasks.sync_all_hosts",
        "schedule": float(envint("KVMWEB_SYNC_INTERVAL", 300)),
    },
}

# Health and metrics (README "Health and metrics"): every worker, beat and watcher writes a
# heartbeat to Redis every KVMWEB_HEALTH_BEAT s that lives KVMWEB_HEALTH_TTL s (kvmweb.heartbeat);
# /readyz fails once one is missing. /metrics and /readyz answer a bearer token
# (KVMWEB_METRICS_TOKEN or _FILE) or a direct (not proxied) request from KVMWEB_METRICS_ALLOW.
CELERY_BEAT_SCHEDULER = "kvmweb.heartbeat:HeartbeatScheduler"
KVMWEB_HEALTH_BEAT = envint("KVMWEB_HEALTH_BEAT", 2)
KVMWEB_HEALTH_TTL = envint("KVMWEB_HEALTH_TTL", 6)
KVMWEB_METRICS_TOKEN = env("KVMWEB_METRICS_TOKEN", "")
KVMWEB_METRICS_ALLOW = [c.strip() for c in env("KVMWEB_METRICS_ALLOW", "127.0.0.1/32,::1/128")
                        .split(",") if c.strip()]

# Operations under faults (README "How operations recover"): lock leases last
# KVMWEB_LOCK_LEASE s and are renewed, with the operation's heartbeat, every KVMWEB_HEARTBEAT s;
# the reaper hands over a running operation whose heartbeat is KVMWEB_HEARTBEAT_STALE s old
# and re-enqueues a queued one nobody stamped for KVMWEB_REQUEUE_AFTER s.
KVMWEB_LOCK_LEASE = envint("KVMWEB_LOCK_LEASE", 10)
# The watcher re-reads every held host's network definitions this often (seconds): libvirt sends
# no event for `virsh net-update`, and drift should show within 10 s (README "Drift").
KVMWEB_DRIFT_POLL = envint("KVMWEB_DRIFT_POLL", 3)
KVMWEB_HEARTBEAT = envint("KVMWEB_HEARTBEAT", 2)
KVMWEB_HEARTBEAT_STALE = envint("KVMWEB_HEARTBEAT_STALE", 10)
KVMWEB_REQUEUE_AFTER = envint("KVMWEB_REQUEUE_AFTER", 30)
KVMWEB_RESUME_ATTEMPTS = envint("KVMWEB_RESUME_ATTEMPTS", 4)

# How the app reaches hosts.
KVMWEB_SSH_KEY = env("KVMWEB_SSH_KEY", str(STATE_DIR / "ssh" / "id_ed25519"))
KVMWEB_CONNECT_TIMEOUT = envint("KVMWEB_CONNECT_TIMEOUT", 10)
# Seconds without a keepalive answer before the watcher marks a host offline.
KVMWEB_KEEPALIVE_INTERVAL = envint("KVMWEB_KEEPALIVE_INTERVAL", 1)
KVMWEB_KEEPALIVE_COUNT = envint("KVMWEB_KEEPALIVE_COUNT", 3)
# The watcher's own deadline: a host silent this many seconds (no answer to its once-a-second
# probe, no event) is shown offline, whatever libvirt's keepalive says (hosts/watcher.py).
KVMWEB_OFFLINE_AFTER = envint("KVMWEB_OFFLINE_AFTER", 5)
# Watcher processes `manage.py watcher` runs, each watching one group of hosts: a crash in one
# (libvirt, glib) stops only its group's events, for the second it takes to restart it.
KVMWEB_WATCHER_PROCESSES = envint("KVMWEB_WATCHER_PROCESSES", 4)
# The topology collapses more VMs than this on one network into one expandable node.
KVMWEB_TOPOLOGY_GROUP_OVER = envint("KVMWEB_TOPOLOGY_GROUP_OVER", 10)
# Seconds a host's published topology is served without comparing it with the database again
# (every announced change and every sync compares it: twice the default sync interval).
KVMWEB_TOPOLOGY_RECHECK = envint("KVMWEB_TOPOLOGY_RECHECK", 600)
# Live state (the watcher): seconds of per-second interface rates kept in Redis for graphs,
# and how often leases of followed hosts' active networks are re-read.
KVMWEB_RATES_HISTORY = envint("KVMWEB_RATES_HISTORY", 900)
KVMWEB_LEASE_REFRESH = envint("KVMWEB_LEASE_REFRESH", 3)

# Consoles (see README "Consoles").
KVMWEB_CONSOLE_TICKET_TTL = envint("KVMWEB_CONSOLE_TICKET_TTL", 30)  # s a console ticket is valid
KVMWEB_CONSOLE_MAX_PER_VM = envint("KVMWEB_CONSOLE_MAX_PER_VM", 4)  # open consoles per VM
KVMWEB_CONSOLE_BUFFER = envint("KVMWEB_CONSOLE_BUFFER", 65536)  # bytes of serial output kept
KVMWEB_CONSOLE_LINGER = envint("KVMWEB_CONSOLE_LINGER", 300)  # s a stream outlives its viewers

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The token class first: its WWW-Authenticate header makes DRF answer 401, not 403,
        # when no credentials (or a bad token) come.
        "teams.tokens.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "kvmweb.access.api_exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "kvmweb.api_schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "kvmweb.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "kvmweb API",
    "DESCRIPTION": "KVM networking across many hosts.",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Request bodies get their own components: read-only fields left out, required text
    # fields marked non-empty (minLength 1), as the server checks them.
    "COMPONENT_SPLIT_REQUEST": True,
    # Bodies are documented as JSON (forms are accepted too, for the browsable API); the one
    # raw-XML body (PUT /api/networks/{id}/xml/) is declared on its view.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
}

# Requests that cause host work, per user and object (kvmweb.ratelimit), and failed logins per
# user name and per client address (teams.signals): counted in Redis under this prefix.
KVMWEB_RATELIMIT_PREFIX = env("KVMWEB_RATELIMIT_PREFIX", "kvmweb-rl")
KVMWEB_LOGIN_FAILURES = envint("KVMWEB_LOGIN_FAILURES", 5)  # then locked for the window
KVMWEB_LOGIN_WINDOW = envint("KVMWEB_LOGIN_WINDOW", 300)  # seconds

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
