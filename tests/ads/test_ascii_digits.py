"""Numbers in addresses and parameters are ASCII digits: ``"¹".isdigit()`` is true but
``int("¹")`` fails (a server error), and ``int("١٥٠١")`` is 1501 (a second address for
one resource). Anything else is a 404 (a JSON one on the API) or a 400 for a parameter."""

import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import PathConverter, SlugConverter, StringConverter

from mesads.ads.models import ADS
from mesads.core.pagination import Paginator, SeekPaginator

pytestmark = pytest.mark.django_db

NOT_ASCII_DIGITS = ["¹", "١", "٣٠", "１２", "𝟏"]


def _patterns(resolvers, prefix=""):
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            assert isinstance(entry, URLPattern)
            yield prefix + str(entry.pattern), entry.pattern


def test_no_url_pattern_of_the_project_reads_a_digit_that_is_not_ascii():
    checked = 0
    for route, pattern in _patterns(get_resolver().url_patterns):
        if route.startswith("admin/"):
            continue  # Django's admin and its plug-ins: national staff only
        converters = getattr(pattern, "converters", {})
        for name, converter in converters.items():
            if isinstance(converter, StringConverter | SlugConverter | PathConverter):
                continue  # text, resolved by the view (the API's ads_id: its own test)
            for text in NOT_ASCII_DIGITS:
                assert not re.fullmatch(converter.regex, text), (route, name, text)
            checked += 1
        # A regular expression pattern (re_path) with \d reads every Unicode digit.
        regex = getattr(pattern, "_regex", "")
        assert r"\d" not in regex or regex.startswith("(?a)"), route
    assert checked > 20


def test_a_page_number_in_other_digits_is_the_first_page(nimes):
    for number in range(5):
        ADS.objects.create(authority=nimes, number=str(number + 1))
    paginator = SeekPaginator(ADS.objects.all(), ["pk"], 2)
    assert paginator.get_page({"page": "2"}).number == 2
    assert paginator.get_page({"page": "٢"}).number == 1
    assert paginator.get_page({"page": "²"}).number == 1


def test_djangos_paginator_reads_ascii_page_numbers_only(nimes):
    for number in range(5):
        ADS.objects.create(authority=nimes, number=str(number + 1))
    paginator = Paginator(ADS.objects.order_by("pk"), 2)
    assert paginator.get_page("2").number == 2
    assert paginator.get_page("٢").number == 1
    assert paginator.get_page("２").number == 1


def test_every_page_paginates_with_the_projects_paginator():
    """Django's own would read ``?page=٢`` as page 2."""
    root = Path(__file__).resolve().parents[2] / "mesads"
    direct = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "from django.core.paginator import Paginator" in path.read_text(encoding="utf-8")
    ]
    assert direct == []
