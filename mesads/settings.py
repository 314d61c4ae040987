"""Settings of Mes ADS, read from the environment (django-environ).

Defaults are safe for a developer's machine: SQLite under ``var/``, DEBUG off unless
asked. ``MESADS_PRODUCTION=true`` switches to production mode, which refuses to start
without a real ``SECRET_KEY`` and ``ALLOWED_HOSTS`` and turns on every HTTPS hardening
that ``manage.py check --deploy`` looks for.
"""

from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A developer may keep local variables in .env (git-ignored); the real environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

PRODUCTION = env.bool("MESADS_PRODUCTION", default=False)
DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "insecure-development-key-never-used-in-production"  # noqa: S105
if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when MESADS_PRODUCTION is set.")
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET_KEY:
        raise ImproperlyConfigured(
            "Production mode needs SECRET_KEY: a random value of at least 50 characters."
        )
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "Production mode needs ALLOWED_HOSTS (comma-separated host names)."
        )
else:
    SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# Former keys, after a rotation: sessions, reset links and the API's change-feed cursors
# made with them stay valid.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # FORM_RENDERER = TemplatesSetting finds Django's own widget and error-list
    # templates only through this app.
    "django.forms",
    "widget_tweaks",
    "dsfr",
    "reversion",
    "import_export",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "mesads.core",
    "mesads.users",
    "mesads.geo",
    "mesads.authorities",
    "mesads.ads",
    "mesads.exchange",
    "mesads.lifecycle",
    "mesads.opendata",
    "mesads.stats",
    "mesads.reminders",
    "mesads.deployment",
    "mesads.waitinglists",
    "mesads.relais",
    # The re-use API (mesads.api): REST framework, its OpenAPI schema, self-hosted docs.
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Its AbstractAPIKey (hashed keys); our own key model is mesads.api.models.APIKey.
    "rest_framework_api_key",
    "mesads.api",
    # The top of the house: the demo register of `make run` (load_demo).
    "mesads.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Early, so it times and logs every request but static files, redirects and errors too.
    "mesads.core.middleware.RequestLogMiddleware",
    # Before anything reads the body (sessions, CSRF, forms): an oversized one is refused
    # from its Content-Length alone.
    "mesads.core.middleware.RequestBodyLimitMiddleware",
    # Sets Content-Security-Policy with a fresh nonce for the design system's scripts.
    "mesads.users.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "mesads.core.middleware.MethodNotAllowedPageMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Below WhiteNoise (static files keep their long cache) and after authentication.
    "mesads.core.middleware.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication (it logs out) and messages (it says why).
    "mesads.users.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes must come last: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mesads.urls"
WSGI_APPLICATION = "mesads.wsgi.application"

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
                "mesads.core.context_processors.site_config",
                "mesads.users.context_processors.access",
            ],
            # {% url %} with each URL reversed once per process (a tenth of a page's CPU).
            "builtins": ["mesads.core.templatetags.memo_url"],
        },
    },
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # WAL lets the dev server read while a command writes; a busy timeout avoids
    # "database is locked" on concurrent requests.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
else:
    # Django's PostgreSQL backend with a deadline on every wait for the server in web
    # requests (mesads/core/db/base.py explains why and how).
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "mesads.core.db"
    # Persistent connections in production only: in tests, a live server thread would
    # keep its connection open and block the test database's teardown.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60 if PRODUCTION else 0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A frozen or unreachable server fails fast instead of holding a worker (finding 12).
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options.setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
    # A network path that dies under an idle or busy connection (every process, the worker
    # included): libpq's keepalives notice an idle one in about 90 s, tcp_user_timeout a
    # send left unacknowledged for 30 s. (A frozen server's kernel still acknowledges
    # both: web requests have the response timeout below for that.)
    for _name, _value in {
        "keepalives": 1,
        "keepalives_idle": 60,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "tcp_user_timeout": 30_000,
    }.items():
        _db_options.setdefault(_name, _value)
    # Web requests only (gunicorn.conf.py sets MESADS_WEB_SERVER): a query longer than
    # this is cancelled and the user sees the error page before gunicorn kills the worker.
    # Commands, the worker and migrations may legitimately run long.
    _server_options = []
    if env.bool("MESADS_WEB_SERVER", default=False):
        _statement_ms = env.int("DB_STATEMENT_TIMEOUT", default=30) * 1000
        _server_options.append(f"-c statement_timeout={_statement_ms}")
        # A server silent this long is asked, through a new connection, whether it still
        # runs; if it does not answer either, the request ends with the error page
        # (after about twice this) and the connection is thrown away.
        _db_options["response_timeout"] = env.float("DB_RESPONSE_TIMEOUT", default=2.0)
    # PostgreSQL's JIT compiles queries whose estimated cost is high: for the register's
    # short queries over the 36,000 authorities it adds 5–25 ms of compilation to run
    # them (the national list sorted by number of ADS: 71 → 47 ms). DB_JIT=true restores it.
    if not env.bool("DB_JIT", default=False):
        _server_options.append("-c jit=off")
    if _server_options:
        # Added to any options DATABASE_URL already gives, not in their place.
        _db_options["options"] = " ".join(
            [_db_options.get("options", ""), *_server_options]
        ).strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache shared by every app server: the re-use API's rate limits and call counters
# (mesads.api.keys) must hold in total, whichever server answers. Redis when REDIS_URL is
# set (production); otherwise a table of the database, created by migration api 0002, so
# that a fresh `make run` or `make test` needs nothing more. Redis is never needed to
# serve: when it fails, mesads.core.cache answers as an empty cache after at most
# REDIS_TIMEOUT seconds, leaves it alone REDIS_RETRY_AFTER seconds, and uses it again as
# soon as it answers; the rate limits go to the database meanwhile (mesads.api.limits).
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_TIMEOUT = env.float("REDIS_TIMEOUT", default=0.5)
CACHES = {
    "default": (
        {
            "BACKEND": "mesads.core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT,
                "socket_timeout": REDIS_TIMEOUT,
                "RETRY_AFTER": env.float("REDIS_RETRY_AFTER", default=5.0),
            },
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "mesads_cache"}
    )
}
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="mesads")

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out (e-mail, IP) pair before any password check.
    "axes.backends.AxesStandaloneBackend",
    # Django's, its sessions' user read with their scope in one query.
    "mesads.users.backends.ModelBackend",
    "mesads.users.backends.NationalStaffBackend",
    # « S’identifier avec ProConnect »: accounts from verified ProConnect claims only.
    "mesads.users.proconnect.backend.ProConnectBackend",
]
# Current guidance (ANSSI, NIST SP 800-63B): length and a list of common passwords; no
# composition rules, no forced periodic change. The maximum only bounds the work a
# submitted password costs; it leaves room for long passphrases.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {
        "NAME": "mesads.users.forms.MaximumLengthValidator",
        "OPTIONS": {"max_length": 128},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Brute-force protection: lock a (e-mail, IP) pair after repeated failures.
# Relay taxi owners' sign-up (mesads.relais.signup): attempts per address and per client
# in RELAIS_SIGNUP_WINDOW seconds, counted in the shared cache.
RELAIS_SIGNUP_LIMIT_PER_ADDRESS = env.int("RELAIS_SIGNUP_LIMIT_PER_ADDRESS", default=3)
RELAIS_SIGNUP_LIMIT_PER_CLIENT = env.int("RELAIS_SIGNUP_LIMIT_PER_CLIENT", default=10)
RELAIS_SIGNUP_WINDOW = env.int("RELAIS_SIGNUP_WINDOW", default=3600)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# authenticate() receives the e-mail as "username"; axes would default to USERNAME_FIELD
# ("email"), record failures without a username and never lock anyone out.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "mesads.users.views.lockout_username"
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The client's address, for the lockout and the login audit alike (see client_ip): in
# production the application sits behind TRUSTED_PROXY_COUNT reverse proxies that append
# to X-Forwarded-For; on a developer's machine it is REMOTE_ADDR.
# None unless configured, in production too: without a proxy in front, X-Forwarded-For is
# whatever the client sends, and each value would be a fresh lockout quota.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "mesads.users.middleware.client_ip"

# « S’identifier avec ProConnect » (mesads.users.proconnect), shown on the login page once
# the three are set. The discovery document (endpoints, keys) is fetched from the provider
# and cached; every call to the provider gives up after PROCONNECT_TIMEOUT seconds.
PROCONNECT_CLIENT_ID = env.str("PROCONNECT_CLIENT_ID", default="")
PROCONNECT_CLIENT_SECRET = env.str("PROCONNECT_CLIENT_SECRET", default="")
PROCONNECT_DISCOVERY_URL = env.str("PROCONNECT_DISCOVERY_URL", default="")
PROCONNECT_TIMEOUT = env.float("PROCONNECT_TIMEOUT", default=5.0)
PROCONNECT_DISCOVERY_CACHE_SECONDS = env.int("PROCONNECT_DISCOVERY_CACHE_SECONDS", default=3600)
_proconnect_configured = bool(
    PROCONNECT_CLIENT_ID and PROCONNECT_CLIENT_SECRET and PROCONNECT_DISCOVERY_URL
)
if PRODUCTION and PROCONNECT_DISCOVERY_URL and not PROCONNECT_DISCOVERY_URL.startswith("https://"):
    raise ImproperlyConfigured("PROCONNECT_DISCOVERY_URL must be an https:// address.")
if (
    PRODUCTION
    and not _proconnect_configured
    and (PROCONNECT_CLIENT_ID or PROCONNECT_CLIENT_SECRET or PROCONNECT_DISCOVERY_URL)
):
    # Otherwise a forgotten variable silently removes the button from the login page.
    raise ImproperlyConfigured(
        "ProConnect needs PROCONNECT_CLIENT_ID, PROCONNECT_CLIENT_SECRET and "
        "PROCONNECT_DISCOVERY_URL together (or none of them)."
    )

LANGUAGE_CODE = "fr"
# Our wording first (locale/), before the catalogues of the installed applications.
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Uploaded files (decrees, imported spreadsheets): on an S3-compatible object store when
# a bucket is configured, so that every app server and the worker see the same files;
# otherwise in MEDIA_ROOT. Either way they are private: served only by the access-checked
# views (streamed through the app), never from a public or pre-signed URL.


def s3_storage(bucket: str, endpoint_url: str | None = None, **options) -> dict:
    """The storage of uploaded files on an S3-compatible bucket (django-storages)."""
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,
            # Objects are private (the bucket's default ACL).
            "default_acl": None,
            "querystring_auth": True,
            # Names are random (uuid4): no existence check before each write.
            "file_overwrite": True,
            "addressing_style": "path",
            # An object store that does not answer fails the upload cleanly, well within
            # the app server's timeout (one retry, short timeouts).
            "client_config": Config(
                connect_timeout=3,
                read_timeout=8,
                retries={"total_max_attempts": 2, "mode": "standard"},
            ),
            **options,
        },
    }


AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
DEFAULT_STORAGE = (
    s3_storage(
        AWS_STORAGE_BUCKET_NAME,
        env("AWS_S3_ENDPOINT_URL", default=None),
        region_name=env("AWS_S3_REGION_NAME", default=None),
        access_key=env("AWS_ACCESS_KEY_ID", default=None),
        secret_key=env("AWS_SECRET_ACCESS_KEY", default=None),
        location=env("AWS_LOCATION", default=""),
    )
    if AWS_STORAGE_BUCKET_NAME
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
)
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploaded legal documents (decrees): refused above this size, with the limit named.
MAX_DOCUMENT_SIZE = env.int("MAX_DOCUMENT_SIZE", default=10 * 1024 * 1024)
# Spreadsheets imported into the register (the national file is about 15 MB).
IMPORT_MAX_SIZE = env.int("IMPORT_MAX_SIZE", default=50 * 1024 * 1024)
# An import whose worker has not given a sign of life for this many seconds (it writes one
# every second while it runs) is shown as interrupted, with a button to run it again.
IMPORT_HEARTBEAT_TIMEOUT = env.int("IMPORT_HEARTBEAT_TIMEOUT", default=60)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Mes ADS <ne-pas-repondre@mesads.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds before a silent SMTP server makes a send fail (logged) instead of hanging.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# A failed e-mail is tried again, up to EMAIL_MAX_ATTEMPTS sends in all, after
# EMAIL_RETRY_DELAY seconds, then twice as long each time (at most EMAIL_RETRY_MAX_DELAY);
# one that failed every time is recorded (« Courriels non remis » in the admin) and logged.
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=5)
EMAIL_RETRY_DELAY = env.float("EMAIL_RETRY_DELAY", default=60)
EMAIL_RETRY_MAX_DELAY = env.float("EMAIL_RETRY_MAX_DELAY", default=3600)
# A campaign is sent by batches of this many mails (one task each): password resets and
# notifications pass between two batches. After CAMPAIGN_PAUSE_AFTER_FAILURES failed mails
# in a row (the mail server is down), the campaign pauses, with the same backoff.
CAMPAIGN_BATCH_SIZE = env.int("CAMPAIGN_BATCH_SIZE", default=50)
CAMPAIGN_PAUSE_AFTER_FAILURES = env.int("CAMPAIGN_PAUSE_AFTER_FAILURES", default=3)
if PRODUCTION and not env.bool("ALLOW_CONSOLE_EMAIL", default=False):
    _TEST_BACKENDS = ("console", "locmem", "dummy", "filebased")
    if any(f".{name}." in EMAIL_BACKEND for name in _TEST_BACKENDS):  # noqa: F821
        raise ImproperlyConfigured(
            "EMAIL_URL must name a real mail server in production (e.g. "
            "smtp+tls://user:password@smtp.example:587): password reset links and "
            f"notices would otherwise never leave ({EMAIL_BACKEND}). "  # noqa: F821
            "Set ALLOW_CONSOLE_EMAIL=true to run without one on purpose."
        )

# A session ends after SESSION_IDLE_TIMEOUT seconds without a request and, in any case,
# SESSION_ABSOLUTE_TIMEOUT seconds after login (mesads.users.middleware).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Sessions live in the database alone (one query by primary key per page), not in the
# shared cache: a session deleted or changed while Redis is unreachable (a logout, an
# expiry, a deactivated account) could otherwise come back from Redis's stale copy once it
# answers again, on whichever server reads it first; no expiry short enough to bound that
# would still save queries. The database serves them whether Redis is up or not.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# The CSRF cookie keeps Django's default (readable by scripts): no script of ours or of
# the design system reads it, and hiding it would protect nothing, since the token is
# also in every form (see Django's CSRF_COOKIE_HTTPONLY documentation).
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): scripts are files from our own origin or tags
# carrying this response's nonce (the design system's, via dsfr_js); never inline code or
# event attributes, no 'unsafe-inline' anywhere. The design system's CSS draws some icons
# from data: URIs. The nonce is generated by mesads.users.middleware.CSPMiddleware.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if _proconnect_configured:
    # Only when the button is there: a provider's origin is never allowed "just in case".
    # The logout button's form ends, after a ProConnect login, with a redirection to
    # ProConnect's end-session endpoint (same host as its discovery document): browsers
    # apply form-action to the redirections that follow a form's submission.
    from urllib.parse import urlsplit

    _proconnect = urlsplit(PROCONNECT_DISCOVERY_URL)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(
        f"{_proconnect.scheme}://{_proconnect.netloc}"
    )
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe the health check over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# JSON lines in production (one per request: mesads.core.middleware.RequestLogMiddleware),
# readable text on a developer's machine.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "mesads.core.logging.JSONFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    # Secrets (reset links, OpenID Connect codes, API keys) masked in every line.
    "filters": {"redact_secrets": {"()": "mesads.core.logging.RedactSecretsFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Background work (e-mails, large imports) goes through django-tasks. Immediate by default
# (tests, `make run`); production sets TASKS_BACKEND=database and runs
# `python manage.py worker` (every queue below; `--queues` to split them across processes).
TASKS = {
    "default": {
        "BACKEND": {
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "database": "django_tasks_db.DatabaseBackend",
        }[env.str("TASKS_BACKEND", default="immediate")],
        "QUEUES": ["default", "emails", "imports"],
    }
}
# The worker's heartbeat (mesads.core.workers): written every WORKER_HEARTBEAT_INTERVAL
# seconds; a task whose worker has not written one for WORKER_LEASE_TIMEOUT seconds is
# taken back (queued again if safe, at most WORKER_MAX_INTERRUPTIONS runs; else failed).
# A worker that loses the database waits 1, 2, 4… up to WORKER_DB_RETRY_MAX_DELAY seconds.
WORKER_HEARTBEAT_INTERVAL = env.float("WORKER_HEARTBEAT_INTERVAL", default=5)
WORKER_LEASE_TIMEOUT = env.float("WORKER_LEASE_TIMEOUT", default=60)
WORKER_MAX_INTERRUPTIONS = env.int("WORKER_MAX_INTERRUPTIONS", default=3)
WORKER_DB_RETRY_MAX_DELAY = env.float("WORKER_DB_RETRY_MAX_DELAY", default=30)

DSFR_MARK_OPTIONAL_FIELDS = True
SITE_TITLE = "Mes ADS"
SITE_TAGLINE = "Le registre national des autorisations de stationnement de taxi"

# The address of the service in e-mails sent with no request to take it from (the daily
# reminders): e.g. https://mesads.beta.gouv.fr. In production, by default, the first of
# ALLOWED_HOSTS over HTTPS (never a link to this machine in a mail).
SITE_URL = env.str(
    "SITE_URL",
    default=f"https://{ALLOWED_HOSTS[0].lstrip('.')}" if PRODUCTION else "http://127.0.0.1:8000",
)
# The public pages (home, legal notice, personal data): where visitors write to the
# national team, and who hosts the service. Left empty, the pages name the team and
# « l’opérateur désigné par la DGITM » instead of inventing an address or a company.
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default="")
HOSTING_PROVIDER = env.str("HOSTING_PROVIDER", default="")

# The re-use API (mesads.api): JSON only (no browsable API: its pages would need inline
# scripts), keys checked by mesads.api.keys, French error bodies.
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["mesads.api.keys.APIKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["mesads.api.keys.HasUsableAPIKey"],
    "DEFAULT_THROTTLE_CLASSES": ["mesads.api.keys.KeyRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mesads.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API de réutilisation de Mes ADS",
    "DESCRIPTION": "Lecture du registre national des ADS : voir la page de documentation.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
}
