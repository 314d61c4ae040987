"""Cross-cutting HTTP middleware: request logging and private caching."""

import logging
import time
import uuid

from django.utils.cache import add_never_cache_headers, patch_cache_control

logger = logging.getLogger("mesads.request")


class RequestLogMiddleware:
    """One log line per request: method, path (never the query string, which may hold
    personal data such as a searched name), status, duration, user id, request id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.monotonic()
        request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        request.request_id = request_id
        response = self.get_response(request)
        user = getattr(request, "user", None)
        logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - start) * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
                "request_id": request_id,
            },
        )
        response["X-Request-Id"] = request_id
        return response


class PrivateCacheMiddleware:
    """Pages seen by a logged-in user are never kept by a browser or a proxy: town halls
    share computers, and the back button must not show the register to the next person."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response
