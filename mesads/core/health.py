"""Health check for load balancers and monitoring: does the database answer?"""

from django.db import DatabaseError, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mesads.core.workers import worker_health

# The probe must answer quickly even when the database is frozen.
PROBE_TIMEOUT_MS = 1000


def database_answers(connection=None) -> bool:
    connection = connection or connections["default"]
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and connection.in_atomic_block:
                # Local to the request's transaction (ATOMIC_REQUESTS), which does nothing else.
                cursor.execute(f"SET LOCAL statement_timeout = {PROBE_TIMEOUT_MS}")
                cursor.execute(f"SET LOCAL lock_timeout = {PROBE_TIMEOUT_MS}")
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


@require_GET
@never_cache
def healthz(request):
    """No login, no session, no write, no cookie: 200 when the database answers, else 503."""
    if database_answers():
        return JsonResponse({"status": "ok", "database": "ok", "worker": worker_health()})
    return JsonResponse({"status": "error", "database": "error"}, status=503)
