"""Legal documents: decrees of an ADS, and the authority's decree fixing the number of ADS."""

from django.http import HttpResponse


def decree_create(request, authority_id: int):  # implemented by the documents work
    return HttpResponse(status=501)


def decree_download(request, decree_id: int):
    return HttpResponse(status=501)


def document_create(request, ads_id: int):
    return HttpResponse(status=501)


def document_download(request, document_id: int):
    return HttpResponse(status=501)


def document_delete(request, document_id: int):
    return HttpResponse(status=501)
