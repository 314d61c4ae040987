"""The public open-data page, the files and their schemas: no login, no personal data.

The files are streamed from the storage (the S3 bucket when one is configured) through
the application, at stable addresses, with the caching headers public files deserve:
the page says when they were generated, and a conditional request (ETag, the file's
SHA-256) costs one small query and no byte of the file.
"""

import logging

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from mesads.core.datasets import served_datasets

from .datasets import BY_SLUG, DATASETS, schema_path
from .models import Publication
from .publication import CONTENT_TYPE, human_size, open_stream

logger = logging.getLogger(__name__)

# The files change once a day: an hour in a cache is a fair trade between freshness and
# load; browsers and proxies check again with the ETag after that.
FILE_MAX_AGE = 3600
SCHEMA_MAX_AGE = 24 * 3600

TYPE_LABELS = {
    "string": "texte",
    "integer": "nombre entier",
    "boolean": "booléen (true ou false)",
    "date": "date (AAAA-MM-JJ)",
}


def _public(response: HttpResponse, max_age: int) -> HttpResponse:
    patch_cache_control(response, public=True, max_age=max_age)
    # Re-users' browser applications (validators, maps) may read the files directly.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _columns(schema: dict) -> list[dict]:
    columns = []
    for field in schema["fields"]:
        constraints = field.get("constraints", {})
        columns.append(
            {
                "name": field["name"],
                "title": field["title"],
                "description": field["description"],
                "type": TYPE_LABELS.get(field["type"], field["type"]),
                "required": constraints.get("required", False),
                "values": constraints.get("enum", []),
            }
        )
    return columns


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    published = {p.dataset: p for p in Publication.objects.all()}
    datasets = []
    for dataset in DATASETS:
        publication = published.get(dataset.slug)
        datasets.append(
            {
                "slug": dataset.slug,
                "schema": dataset.schema,
                "columns": _columns(dataset.schema),
                "publication": publication,
                "size": human_size(publication.size) if publication else "",
            }
        )
    return render(
        request,
        "opendata/index.html",
        {"datasets": datasets, "served_datasets": served_datasets()},
    )


def _dataset(slug: str):
    try:
        return BY_SLUG[slug]
    except KeyError:
        raise Http404("Ce fichier n’existe pas.") from None


@require_safe
def download(request: HttpRequest, dataset: str) -> HttpResponse:
    _dataset(dataset)
    publication = Publication.objects.filter(dataset=dataset).first()
    if publication is None:
        raise Http404("Ce fichier n’a pas encore été généré.")
    etag = f'"{publication.sha256}"'
    not_modified = get_conditional_response(
        request, etag=etag, last_modified=int(publication.generated_at.timestamp())
    )
    if not_modified is not None:
        return _public(not_modified, FILE_MAX_AGE)
    try:
        chunks = open_stream(publication.name)
    except FileNotFoundError:
        # The row names a file the storage lost: say so in the log, a 404 to the visitor.
        logger.error("Open-data file %s is missing from the storage", publication.name)
        raise Http404("Ce fichier n’est pas disponible pour le moment.") from None
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPE)
    day = timezone.localdate(publication.generated_at)
    response["Content-Disposition"] = f'attachment; filename="mesads-{dataset}-{day}.csv"'
    response["Content-Length"] = str(publication.size)
    response["ETag"] = etag
    response["Last-Modified"] = http_date(publication.generated_at.timestamp())
    return _public(response, FILE_MAX_AGE)


@require_safe
def schema(request: HttpRequest, dataset: str) -> HttpResponse:
    _dataset(dataset)
    response = HttpResponse(
        schema_path(dataset).read_bytes(), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'inline; filename="{dataset}.json"'
    return _public(response, SCHEMA_MAX_AGE)
