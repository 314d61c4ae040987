"""Cross-cutting HTTP middleware: request logging, request body limits, private caching,
error pages for empty responses."""

import logging
import time
import uuid

from django.conf import settings
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import Resolver404, get_script_prefix, resolve
from django.utils.cache import add_never_cache_headers, patch_cache_control

from .redaction import redact

logger = logging.getLogger("mesads.request")


class RequestLogMiddleware:
    """One log line per request: method, path (never the query string, which may hold
    personal data such as a searched name; secrets in the path masked, such as a
    password-reset link's token), status, duration, user id, request id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.monotonic()
        request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        request.request_id = request_id
        response = self.get_response(request)
        user = getattr(request, "user", None)
        path = redact(request.path)
        logger.info(
            "%s %s %s",
            request.method,
            path,
            response.status_code,
            extra={
                "method": request.method,
                "path": path,
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


class RequestBodyLimitMiddleware:
    """Refuse a request body larger than its page accepts, from its Content-Length and
    before a byte of it is read (OPERATIONS.md #3: 300 MB were read and written to the
    temporary folder before the form said « dépasse 10 Mo »).

    Upload pages accept their file limit plus room for the form; every other page, what
    a form without files may send. The reverse proxy should refuse the same sizes first
    (nginx: ``client_max_body_size``; see the README).
    """

    # A multipart body carries the form's other fields and its boundaries beside the file.
    MARGIN = 512 * 1024

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def limit_for(request) -> int:
        try:
            name = resolve(request.path_info).view_name
        except Resolver404:
            name = ""
        if name in ("ads:document_create", "ads:decree_create"):
            return settings.MAX_DOCUMENT_SIZE + RequestBodyLimitMiddleware.MARGIN
        if name in ("admin:exchange_importjob_import", "imports:index"):
            return settings.IMPORT_MAX_SIZE + RequestBodyLimitMiddleware.MARGIN
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length:
            limit = self.limit_for(request)
            if length > limit:
                logger.warning(
                    "Request body refused",
                    extra={"path": request.path, "content_length": length, "limit": limit},
                )
                # (The server closes the connection: the unread body cannot be skipped.)
                return render(None, "413.html", {"limit": filesizeformat(limit)}, status=413)
        return self.get_response(request)


class MethodNotAllowedPageMiddleware:
    """A French page instead of the browser's bare « HTTP ERROR 405 ».

    ``require_POST`` answers a GET with an empty 405, which is what a user reaches after
    logging in again with ``next=`` an action's address (« attester », « restaurer »). The
    status and its ``Allow`` header stay; the body says what happened and links back to
    the page the action belongs to.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def page_of(path: str) -> str:
        """The nearest address above ``path`` that is one of ours (``/ads/12/`` for
        ``/ads/12/attester/``), else the home page.

        Only known addresses on this site: the path is the visitor's to write.
        """
        parent = path.rstrip("/")
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            candidate = f"{parent}/"
            # Browsers read a leading « // » or « /\ » as another site’s address.
            if candidate == "/" or candidate[1] in "/\\":
                break
            try:
                resolve(candidate)
            except Resolver404:
                continue
            return candidate
        return "/"

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.streaming and not response.content:
            back = self.page_of(request.path_info)
            # The standalone error layout: no request, so no context processor or query.
            response.content = render_to_string(
                "405.html", {"back": None if back == "/" else get_script_prefix() + back[1:]}
            )
            response["Content-Type"] = "text/html; charset=utf-8"
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
        return response
