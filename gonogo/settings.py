"""Settings, read from the environment exactly as CONTRACT §1 describes.

DEBUG is off unless the environment turns it on; SECRET_KEY is then required.
Storage is UTC; TIME_ZONE only changes how times are displayed.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GONOGO_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(it is required whenever DEBUG is off), or set DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "mozilla_django_oidc",
    "accounts",
    "audit",
    "releases",
    "gates",
    "checklists",
    "operations",
    "integrations",
    "notifications",
    "flags",
    "stores",
    "slack",
    "policy",
    "live",
    "board",
    "reviews",
    "api",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the session and authentication: while the database is down a request is
    # refused here (503) without touching either (core/outage.py).
    "core.outage.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.session_idle_refresh",
    "axes.middleware.AxesMiddleware",
    # Last: it is sync-only, and placed first it would make Django hop threads around every
    # middleware under ASGI. There, gonogo.asgi already refuses big bodies as they stream.
    "core.middleware.body_limit",
    "core.input_guard.nul_guard",  # after body_limit: it reads form bodies
    # Each person's zone for the whole request. After nul_guard: it reads the person,
    # which reads the session cookie the guard has checked. Sync-only, so at the end.
    "accounts.middleware.time_zone_activate",
]

ROOT_URLCONF = "gonogo.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # `|when` and `|ago` in every template without a {% load %} (core/when.py).
            # `|particles`: Korean particle pairs chosen for their word (core/korean.py).
            "builtins": ["accounts.templatetags.when", "core.korean"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "gonogo.wsgi.application"
ASGI_APPLICATION = "gonogo.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A database outage is answered at once (core/outage.py): connecting gives up after
# GONOGO_DB_CONNECT_TIMEOUT seconds (whole seconds, at least 2: libpq's rule) and a
# request waits at most GONOGO_DB_POOL_TIMEOUT seconds for a pooled connection.
DB_CONNECT_TIMEOUT = max(2, int(os.environ.get("GONOGO_DB_CONNECT_TIMEOUT", "3")))
DB_POOL_TIMEOUT = float(os.environ.get("GONOGO_DB_POOL_TIMEOUT", "2"))
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = DB_CONNECT_TIMEOUT
if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("DB_POOL", default=True):
    # A connection pool: requests run in a pool of threads (WEB_THREADS, see gonogo.asgi)
    # and the live streams in fresh ones; without a pool each would open a new PostgreSQL
    # backend with cold caches. Room for every web thread and a few live-stream checks.
    from psycopg_pool import ConnectionPool

    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
        "max_size": int(os.environ.get("DB_POOL_MAX", str(int(os.environ.get("WEB_THREADS", "8")) + 4))),
        "timeout": DB_POOL_TIMEOUT,
        # The pool retries a lost connection with a doubling delay; giving a retry up after
        # this long starts a fresh one (1 s delay) on the next request, so the pool is back
        # within seconds of PostgreSQL, even after a long outage.
        "reconnect_timeout": float(os.environ.get("GONOGO_DB_RECONNECT_TIMEOUT", "10")),
        "check": ConnectionPool.check_connection,  # a restarted PostgreSQL costs one retry, not an error
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, beat) share the file in `make run`.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "board:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sign-in (docs/running.md "Sign-in"). The throttle comes first: a locked-out account or
# address is refused before any password is checked or any provider is asked.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ThrottleBackend",
    "accounts.backends.PasswordBackend",
    "accounts.oidc.OIDCBackend",
]
GONOGO_PASSWORD_LOGIN = env_bool("GONOGO_PASSWORD_LOGIN", default=True)
# Break-glass while password sign-in is off: active superusers may still use theirs.
GONOGO_PASSWORD_LOGIN_SUPERUSERS = env_bool("GONOGO_PASSWORD_LOGIN_SUPERUSERS", default=False)

# Lockout (django-axes): after GONOGO_LOCKOUT_FAILURES failed sign-ins an account is
# locked for GONOGO_LOCKOUT_MINUTES, and independently a client address after
# GONOGO_LOCKOUT_ADDRESS_FAILURES (4 times as many: an office shares one address, and one
# person's typos must not lock the PM out before the meeting).
GONOGO_LOCKOUT_FAILURES = int(os.environ.get("GONOGO_LOCKOUT_FAILURES", "5"))
GONOGO_LOCKOUT_ADDRESS_FAILURES = int(
    os.environ.get("GONOGO_LOCKOUT_ADDRESS_FAILURES", str(4 * GONOGO_LOCKOUT_FAILURES))
)
AXES_FAILURE_LIMIT = "accounts.throttle.failure_limit"
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("GONOGO_LOCKOUT_MINUTES", "15")))
# ["username", "ip_address"]: each locks on its own; an OIDC callback has no user name,
# so there only the address counts (accounts.throttle.lockout_parameters).
AXES_LOCKOUT_PARAMETERS = "accounts.throttle.lockout_parameters"
# A success does not wipe the failures: signing in to one's own account between guesses
# at another's from the same address must not reset the count.
AXES_RESET_ON_SUCCESS = False
# Tries made while locked do not push the expiry further: the page can say until when.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_ip"
AXES_VERBOSE = False
# Behind the TLS proxy, the client address is the one the proxy appended to X-Forwarded-For.
GONOGO_BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY")

# Sessions end after GONOGO_SESSION_IDLE_MINUTES without a page or an action (live
# updates and panel refreshes are not activity); accounts.middleware slides the expiry.
GONOGO_SESSION_IDLE_MINUTES = int(os.environ.get("GONOGO_SESSION_IDLE_MINUTES", "480"))
SESSION_COOKIE_AGE = GONOGO_SESSION_IDLE_MINUTES * 60
GONOGO_LIVE_SESSION_CHECK_SECONDS = float(os.environ.get("GONOGO_LIVE_SESSION_CHECK_SECONDS", "30"))
# A stream sends at most one message per this window: changes within it are merged (the
# first goes at once, the rest together at the window's end). board/streams.py.
GONOGO_LIVE_COALESCE_SECONDS = float(os.environ.get("GONOGO_LIVE_COALESCE_SECONDS", "0.25"))
# A board panel's HTML is rendered once per change and served from Redis to every viewer
# for at most this long (core/panel_cache.py); 0 turns the cache off.
GONOGO_PANEL_CACHE_SECONDS = int(os.environ.get("GONOGO_PANEL_CACHE_SECONDS", "30"))
# Results posted to /api/v1/results at the same moment by requests of one web process are
# written in one transaction (gates/grouping.py); off, each is written alone.
GONOGO_GROUP_COMMIT = env_bool("GONOGO_GROUP_COMMIT", default=True)

# Single sign-on with OpenID Connect (mozilla-django-oidc; accounts/oidc.py). On when a
# client id and an issuer (discovery) or the endpoints are set.
GONOGO_OIDC_ISSUER = os.environ.get("GONOGO_OIDC_ISSUER", "").rstrip("/")
GONOGO_OIDC_PROVIDER_NAME = os.environ.get("GONOGO_OIDC_PROVIDER_NAME", "SSO")
GONOGO_OIDC_GROUPS_CLAIM = os.environ.get("GONOGO_OIDC_GROUPS_CLAIM", "groups")
OIDC_RP_CLIENT_ID = os.environ.get("GONOGO_OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("GONOGO_OIDC_CLIENT_SECRET", "")
OIDC_RP_SCOPES = os.environ.get("GONOGO_OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = os.environ.get("GONOGO_OIDC_SIGN_ALGO", "RS256")
# Explicit endpoints win over what the issuer's discovery document says.
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("GONOGO_OIDC_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("GONOGO_OIDC_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("GONOGO_OIDC_USERINFO_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("GONOGO_OIDC_JWKS_ENDPOINT", "")
OIDC_USE_PKCE = env_bool("GONOGO_OIDC_USE_PKCE", default=True)
OIDC_TIMEOUT = 10
LOGIN_REDIRECT_URL_FAILURE = "accounts:login"
# The issuer is required, also when the endpoints are given one by one: every ID token's
# `iss` is checked against it.
GONOGO_OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID and GONOGO_OIDC_ISSUER)

# Internationalisation: English and Korean, chosen by Accept-Language or the switcher.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Hashed, compressed file names once `collectstatic` has run (scripts/serve web does it when
# DEBUG is off); before that (DEBUG, tests) the files are served as they are, by finders.
_MANIFEST = STATIC_ROOT / "staticfiles.json"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and _MANIFEST.exists()
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# Security headers. CSP with nonces; htmx is loaded from our own origin only.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie.
CSRF_FAILURE_VIEW = "core.handlers.csrf_failure"  # not swapped into an htmx panel
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if env_bool("BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS only (docker-compose.yml turns these on; docs/running.md). The probes stay
# reachable over plain HTTP for load balancers.
SECURE_SSL_REDIRECT = env_bool("GONOGO_SSL_REDIRECT")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("GONOGO_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("GONOGO_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("GONOGO_HSTS_PRELOAD")

# Celery: Redis when REDIS_URL is set, else kombu's filesystem transport (no server).
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# Domain settings.
GONOGO_DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo")
GONOGO_WAIVER_DEFAULT_HOURS = 72
GONOGO_WAIVER_MAX_DAYS = 7
GONOGO_BENCH = env_bool("GONOGO_BENCH")  # adds the benchmarks' baseline views
GONOGO_DELIVERY_KEEP_DAYS = int(os.environ.get("GONOGO_DELIVERY_KEEP_DAYS", "30"))  # at least 7
GONOGO_POLL_INTERVAL_SECONDS = float(os.environ.get("GONOGO_POLL_INTERVAL_SECONDS", "30"))
# Where people open the app: links in alerts (Slack, e-mail, PagerDuty) point here.
GONOGO_BASE_URL = os.environ.get("GONOGO_BASE_URL", "http://localhost:8000").rstrip("/")
# How often the beat looks for monitoring sources that are due (each source has its own
# `interval_seconds`; this only bounds how late a sample can be).
GONOGO_HEALTH_TICK_SECONDS = float(os.environ.get("GONOGO_HEALTH_TICK_SECONDS", "10"))
# How long one request to Prometheus or Sentry may take before the sample says "timeout".
GONOGO_MONITORING_TIMEOUT_SECONDS = float(os.environ.get("GONOGO_MONITORING_TIMEOUT_SECONDS", "5"))

# Alerts (notifications, docs/alerts.md): a failed attempt is tried again after a random
# wait of up to base * 2^(attempt-1) seconds, up to this many attempts in all.
GONOGO_ALERT_RETRY_BASE_SECONDS = float(os.environ.get("GONOGO_ALERT_RETRY_BASE_SECONDS", "30"))
GONOGO_ALERT_MAX_ATTEMPTS = max(1, int(os.environ.get("GONOGO_ALERT_MAX_ATTEMPTS", "8")))

# App Store Connect (stores/, docs/app-store.md): the API's address, one request's
# timeout, and a failed change's retries (a random wait up to base * 2^(attempt-1) s).
GONOGO_APPSTORE_API_URL = os.environ.get("GONOGO_APPSTORE_API_URL", "https://api.appstoreconnect.apple.com")
GONOGO_APPSTORE_TIMEOUT_SECONDS = float(os.environ.get("GONOGO_APPSTORE_TIMEOUT_SECONDS", "10"))
GONOGO_APPSTORE_RETRY_BASE_SECONDS = float(os.environ.get("GONOGO_APPSTORE_RETRY_BASE_SECONDS", "30"))
GONOGO_APPSTORE_MAX_ATTEMPTS = max(1, int(os.environ.get("GONOGO_APPSTORE_MAX_ATTEMPTS", "6")))
# How often the beat reads back the phased releases of releases rolling out (seconds).
GONOGO_APPSTORE_READ_SECONDS = float(os.environ.get("GONOGO_APPSTORE_READ_SECONDS", "300"))
# Google Play (stores/play_*.py, docs/google-play.md): the Android Publisher API's address
# (tests point it at a fake), one request's timeout, and a refused step's retries.
GONOGO_PLAY_API_URL = os.environ.get("GONOGO_PLAY_API_URL", "https://androidpublisher.googleapis.com")
GONOGO_PLAY_TIMEOUT_SECONDS = float(os.environ.get("GONOGO_PLAY_TIMEOUT_SECONDS", "15"))
GONOGO_PLAY_RETRY_BASE_SECONDS = float(os.environ.get("GONOGO_PLAY_RETRY_BASE_SECONDS", "15"))
GONOGO_PLAY_MAX_ATTEMPTS = max(1, int(os.environ.get("GONOGO_PLAY_MAX_ATTEMPTS", "6")))
# Alert e-mail goes through this SMTP server; without one, DEBUG prints mails on the
# console (and without DEBUG an e-mail alert fails, saying the server is not set).
_SMTP_HOST = os.environ.get("GONOGO_SMTP_HOST", "")
MAILERS: dict[str, dict[str, object]] = {
    "default": (
        {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
        if DEBUG and not _SMTP_HOST
        else {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _SMTP_HOST,
                "port": int(os.environ.get("GONOGO_SMTP_PORT", "587")),
                "username": os.environ.get("GONOGO_SMTP_USER", ""),
                "password": os.environ.get("GONOGO_SMTP_PASSWORD", ""),
                "use_tls": env_bool("GONOGO_SMTP_TLS", default=True),
                "timeout": 10,
            },
        }
    )
}
DEFAULT_FROM_EMAIL = os.environ.get("GONOGO_MAIL_FROM", "gonogo@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# CONTRACT §3: request bodies over 1 MiB are refused (413, core.middleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
# Defaults for the demo integration's secret only (CONTRACT §2); real ones come from the environment.
# With DEBUG off there is no default: the demo integration then has no secret until
# GONOGO_DEMO_GITHUB_SECRET is set, and its webhooks are refused (401) saying so.
GONOGO_SECRET_DEFAULTS = {"GONOGO_DEMO_GITHUB_SECRET": "demo-secret" if DEBUG else ""}
# The demo flag's token for the stand-in Unleash (demo/unleash.py), under DEBUG only.
GONOGO_SECRET_DEFAULTS["GONOGO_DEMO_UNLEASH_TOKEN"] = "*:*.demo-unleash-token" if DEBUG else ""

# Feature flags (docs/flags.md): a Kill is tried up to this many times, waiting about
# base * 2^(attempt-1) s between tries (5 and 8 s: about two minutes in all); each request
# to the provider may take this long; flags are read back this often.
GONOGO_FLAG_KILL_ATTEMPTS = max(1, int(os.environ.get("GONOGO_FLAG_KILL_ATTEMPTS", "5")))
GONOGO_FLAG_RETRY_BASE_SECONDS = float(os.environ.get("GONOGO_FLAG_RETRY_BASE_SECONDS", "8"))
GONOGO_FLAG_TIMEOUT_SECONDS = float(os.environ.get("GONOGO_FLAG_TIMEOUT_SECONDS", "10"))
GONOGO_FLAG_READ_SECONDS = float(os.environ.get("GONOGO_FLAG_READ_SECONDS", "60"))
GONOGO_FLAG_READ_RECENT_HOURS = float(os.environ.get("GONOGO_FLAG_READ_RECENT_HOURS", "24"))

CELERY_BEAT_SCHEDULE = {
    "waivers-expire-announce": {"task": "gates.waivers_expire_announce", "schedule": 60.0},
    "live-prune": {"task": "live.prune", "schedule": 600.0},
    "deliveries-sweep": {"task": "integrations.deliveries_sweep", "schedule": 60.0},
    # The GitHub App: waiting deployments judged again, lost answers sent, `gonogo` statuses.
    "github-app-sweep": {"task": "integrations.github_app_sweep", "schedule": 30.0},
    # Alerts whose message was lost (a worker died, the broker was down) are queued again.
    "alerts-sweep": {"task": "notifications.sweep", "schedule": 60.0},
    # Slack asks and response_url replies whose message was lost (slack/outbox.py).
    "slack-sweep": {"task": "slack.sweep", "schedule": 60.0},
    "waivers-expiring-announce": {"task": "gates.waivers_expiring_announce", "schedule": 300.0},
    "action-items-overdue-announce": {"task": "reviews.action_items_overdue_announce", "schedule": 900.0},
    # Rollout health from Prometheus/Sentry, soak and auto-advance (operations/sampling.py).
    "rollout-tick": {
        "task": "board.rollout_tick",
        "schedule": GONOGO_HEALTH_TICK_SECONDS,
        "options": {"expires": GONOGO_HEALTH_TICK_SECONDS},
    },
    # Google Play: steps whose message was lost queued again; tracks read back every 5 min.
    "play-sweep": {"task": "stores.play_sweep", "schedule": 60.0, "options": {"expires": 60.0}},
    # A run that is not picked up within one interval is dropped: the next one comes.
    "poll-ci": {
        "task": "integrations.poll_due",
        "schedule": GONOGO_POLL_INTERVAL_SECONDS,
        "options": {"expires": GONOGO_POLL_INTERVAL_SECONDS},
    },
    # App Store phased releases (stores/appstore_*.py): lost changes queued again; Apple's
    # state read back for releases rolling out, halted or released lately.
    "appstore-sweep": {"task": "stores.appstore_sweep", "schedule": 60.0},
    "appstore-read": {
        "task": "stores.appstore_read_due",
        "schedule": GONOGO_APPSTORE_READ_SECONDS,
        "options": {"expires": GONOGO_APPSTORE_READ_SECONDS},
    },
}
# Feature flags (flags/, docs/flags.md): Kills whose message was lost are queued again;
# the flags of releases rolling out, halted or just released are read back.
CELERY_BEAT_SCHEDULE["flags-sweep"] = {"task": "flags.sweep", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["flags-read"] = {
    "task": "flags.read_due",
    "schedule": GONOGO_FLAG_READ_SECONDS,
    "options": {"expires": GONOGO_FLAG_READ_SECONDS},
}
# Polling waits on outside servers: it has a queue and a worker of its own (`scripts/serve
# poller`), so webhook deliveries and alerts are never queued behind a slow CI server.
CELERY_TASK_ROUTES = {
    "integrations.poll_due": {"queue": "polling"},
    # It waits on Prometheus and Sentry: never in front of alerts on the default queue.
    "board.rollout_tick": {"queue": "polling"},
    # Reading flags back waits on Unleash: not in front of Kills and alerts.
    "flags.read_due": {"queue": "polling"},
}
CELERY_TASK_DEFAULT_QUEUE = "celery"
