"""gunicorn settings, from the environment: `gunicorn -c gunicorn.conf.py mesads.wsgi`."""

import multiprocessing
import os

# Read by mesads/settings.py: web requests get a statement timeout (DB_STATEMENT_TIMEOUT);
# manage.py commands, the worker and migrations do not.
os.environ["MESADS_WEB_SERVER"] = "true"

if os.environ.get("BIND"):
    bind = os.environ["BIND"]
elif os.environ.get("PORT"):
    bind = f"0.0.0.0:{os.environ['PORT']}"
else:
    bind = "127.0.0.1:8000"

workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
# A request stuck longer than this is killed; the database statement timeout (shorter or
# equal) fails it first with the error page, and a frozen or unreachable database within
# seconds (DB_RESPONSE_TIMEOUT, mesads/core/db/base.py).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# The application writes the access log itself: one JSON line per request on stdout
# (mesads.core.middleware.RequestLogMiddleware, with the user id and request id, never the
# query string). gunicorn's own line would only repeat it; GUNICORN_ACCESS_LOG=- adds it.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = (
    '{"logger": "gunicorn.access", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "duration_ms": %(M)s}'
)
errorlog = "-"
# Both logs with secrets masked (reset links, OpenID Connect codes, API keys): the same
# redaction as the application's log (mesads/core/redaction.py).
logger_class = "mesads.core.gunicorn_logging.RedactingLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Each worker, once the application is loaded: see mesads/core/warmup.py."""
    from mesads.core.warmup import warm_up_and_freeze

    warm_up_and_freeze()
