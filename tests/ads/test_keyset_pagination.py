"""Pages that cost the same wherever they are: the ADS list, the prefecture's table of
authorities, its list of ADS and its feed of changes page by seeking in an index from the
row before (or after) the page, not by counting rows from the start.

A user follows « Page suivante » from the first page to the last, then « Page
précédente » back: every row is seen exactly once, in order, even when many rows share
their sort key (numbers that sort alike, changes of one import made at one instant).
"""

import datetime
import re
from html import unescape

import pytest
import reversion
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesads.ads.models import ADS, RegisterChange, natural_sort_key
from mesads.ads.services import record_change
from mesads.authorities.models import Authority
from mesads.geo.models import Commune

pytestmark = pytest.mark.django_db


def link(content: str, kind: str) -> str | None:
    """The href of the pagination link of ``kind`` (first, prev, next, last), if active."""
    match = re.search(
        rf'class="fr-pagination__link fr-pagination__link--{kind}[^"]*" href="([^"]+)"', content
    )
    return unescape(match.group(1)) if match else None


def current(content: str) -> str:
    return re.search(r'aria-current="page" title="Page \d+">([^<]+)<', content).group(1)


def row_headers(content: str) -> list[str]:
    body = content.split("<tbody>")[1].split("</tbody>")[0]
    return [
        " ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())
        for cell in re.findall(r"<th scope=\"row\"[^>]*>(.*?)</th>", body, re.S)
    ]


def walk(client, url: str, read, start: str = "", direction: str = "next"):
    """Follow the ``direction`` links from ``url + start``; the rows and labels seen."""
    seen, labels, queries = [], [], []
    href = start or "?page=1"
    while href:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url + href)
        assert response.status_code == 200, href
        content = response.content.decode()
        page_rows = read(content)
        seen.append(page_rows)
        labels.append(current(content))
        queries.append([query["sql"] for query in captured.captured_queries])
        href = link(content, direction)
    return seen, labels, queries


def flatten(pages: list[list[str]]) -> list[str]:
    return [row for page in pages for row in page]


# --- the ADS list of an authority ---------------------------------------------------------


@pytest.fixture
def tied_register(nimes) -> list[str]:
    """180 ADS whose numbers sort in pairs (``A-7`` and ``A-07`` share their sort key);
    returns their numbers in the list's order."""
    numbers = [f"A-{n}" for n in range(90)] + [f"A-0{n}" for n in range(90)]
    numbers += ["A-007"]  # a third one on the key of A-7
    ADS.objects.bulk_create(
        ADS(authority=nimes, number=number, number_sort_key=natural_sort_key(number))
        for number in numbers
    )
    ADS.objects.create(authority=nimes, number="A-999", deleted_at=timezone.now())
    return [
        f"ADS n° {ads.number}" for ads in ADS.objects.live().filter(authority=nimes).natural_order()
    ]


def test_the_ads_list_walked_forwards_and_back_shows_every_ads_once(
    client, manager, nimes, tied_register
):
    client.force_login(manager)
    url = reverse("ads:list", args=[nimes.pk])

    forwards, labels, _ = walk(client, url, row_headers)
    last = link(client.get(url).content.decode(), "last")
    backwards, back_labels, _ = walk(client, url, row_headers, start=last, direction="prev")

    assert len(tied_register) == 181
    assert labels == ["Page 1 sur 4", "Page 2 sur 4", "Page 3 sur 4", "Page 4 sur 4"]
    assert [len(page) for page in forwards] == [50, 50, 50, 31]
    assert flatten(forwards) == tied_register
    assert back_labels == list(reversed(labels))
    assert flatten(list(reversed(backwards))) == tied_register
    # Pairs that sort alike straddle page boundaries and still appear once.
    assert len(set(flatten(forwards))) == 181


def test_the_links_carry_the_cursor_and_keep_the_search(client, manager, nimes, tied_register):
    client.force_login(manager)
    url = reverse("ads:list", args=[nimes.pk])

    first = client.get(url, {"exploitation": "exploitee", "page": "1"}).content.decode()
    second_href = link(first, "next")
    second = client.get(url + second_href).content.decode()

    assert second_href.startswith("?exploitation=exploitee&page=2&apres=")
    assert link(first, "last") == "?exploitation=exploitee&page=4"
    assert link(second, "prev") == "?exploitation=exploitee&page=1"
    assert "avant=" in link(client.get(url + link(second, "next")).content.decode(), "prev")
    # The page reached through its cursor is the page its number names.
    assert row_headers(second) == row_headers(
        client.get(url, {"exploitation": "exploitee", "page": "2"}).content.decode()
    )


def test_pages_reached_by_their_links_never_count_rows_from_the_start(
    client, manager, nimes, tied_register
):
    client.force_login(manager)
    url = reverse("ads:list", args=[nimes.pk])

    _, _, forwards = walk(client, url, row_headers)
    last = link(client.get(url).content.decode(), "last")
    _, _, backwards = walk(client, url, row_headers, start=last, direction="prev")

    for queries in forwards + backwards:
        page_queries = [sql for sql in queries if 'FROM "ads_ads"' in sql and "COUNT(" not in sql]
        assert page_queries, queries
        assert not any("OFFSET" in sql for sql in page_queries), page_queries


def test_a_damaged_cursor_falls_back_to_the_page_number(client, manager, nimes, tied_register):
    client.force_login(manager)
    url = reverse("ads:list", args=[nimes.pk])

    expected = row_headers(client.get(url, {"page": "3"}).content.decode())
    for cursor in ("not-base64!", "W10", "WyJ4Il0", "WyJhIiwgIngiXQ"):
        response = client.get(url, {"page": "3", "apres": cursor})
        assert response.status_code == 200
        assert row_headers(response.content.decode()) == expected
    assert "Page 4 sur 4" in client.get(url, {"page": "99"}).content.decode()


def test_the_list_follows_the_register_after_a_deletion(client, manager, nimes, tied_register):
    """A cursor names a row, not a position: deleting a row of page 1 does not make page
    2 repeat or skip one."""
    client.force_login(manager)
    url = reverse("ads:list", args=[nimes.pk])
    first = client.get(url).content.decode()
    second_href = link(first, "next")

    ADS.objects.filter(authority=nimes, number="A-0").update(deleted_at=timezone.now())
    second = row_headers(client.get(url + second_href).content.decode())

    assert second == tied_register[50:100]


# --- the prefecture's space ---------------------------------------------------------------


def test_the_table_of_authorities_walked_both_ways(client, prefecture_agent, gard):
    # Names shared by several authorities: the id breaks the tie.
    for n in range(120):
        commune = Commune.objects.create(
            insee_code=f"30{n + 300}", type=Commune.Type.ACTUELLE, name=f"C{n}", departement=gard
        )
        Authority.objects.create(
            type=Authority.Type.COMMUNE, name=f"Commune {n % 7}", commune=commune, departement=gard
        )
    expected = list(
        Authority.objects.filter(departement=gard)
        .order_by("name", "pk")
        .values_list("pk", flat=True)
    )
    client.force_login(prefecture_agent)
    url = reverse("prefecture:departement", args=["30"])

    def read(content: str) -> list[int]:
        body = content.split("<tbody>")[1].split("</tbody>")[0]
        return [int(pk) for pk in re.findall(r'href="/gestionnaires/(\d+)/"', body)]

    forwards, labels, _ = walk(client, url, read)
    last = link(client.get(url).content.decode(), "last")
    backwards, _, _ = walk(client, url, read, start=last, direction="prev")

    assert labels == ["Page 1 sur 3", "Page 2 sur 3", "Page 3 sur 3"]
    assert flatten(forwards) == expected
    assert flatten(list(reversed(backwards))) == expected


def make_changes_at_one_instant(authority: Authority, count: int) -> None:
    for n in range(count):
        with reversion.create_revision():
            ads = ADS.objects.create(authority=authority, number=f"N-{n}")
            reversion.add_to_revision(ads)
            record_change(ads)
            reversion.set_comment(f"Modification {n}")
    # One bulk import: every change at the same instant.
    RegisterChange.objects.update(
        created_at=datetime.datetime(2026, 5, 4, 10, 0, tzinfo=datetime.UTC)
    )


def test_the_feed_walked_both_ways_shows_each_change_once_despite_ties(
    client, prefecture_agent, nimes
):
    make_changes_at_one_instant(nimes, 130)
    client.force_login(prefecture_agent)
    url = reverse("prefecture:changes", args=["30"])

    def read(content: str) -> list[str]:
        return re.findall(r"<td>(Modification \d+)</td>", content)

    forwards, labels, queries = walk(client, url, read)
    last = link(client.get(url).content.decode(), "last")
    backwards, _, _ = walk(client, url, read, start=last, direction="prev")

    expected = [f"Modification {n}" for n in range(129, -1, -1)]  # newest (highest id) first
    assert labels == ["Page 1 sur 3", "Page 2 sur 3", "Page 3 sur 3"]
    assert flatten(forwards) == expected
    assert flatten(list(reversed(backwards))) == expected
    assert not any("OFFSET" in sql for page in queries for sql in page)


def test_the_departements_ads_walked_both_ways(client, prefecture_agent, nimes, ales):
    for authority in (nimes, ales):
        ADS.objects.bulk_create(
            ADS(authority=authority, number=number, number_sort_key=natural_sort_key(number))
            for number in [f"{n}" for n in range(40)] + [f"0{n}" for n in range(25)]
        )
    expected = [
        f"ADS n° {ads.number}"
        for ads in ADS.objects.live().order_by(
            "authority__name", "authority_id", "number_sort_key", "pk"
        )
    ]
    client.force_login(prefecture_agent)
    url = reverse("prefecture:ads", args=["30"])

    forwards, labels, _ = walk(client, url, row_headers)
    last = link(client.get(url).content.decode(), "last")
    backwards, _, _ = walk(client, url, row_headers, start=last, direction="prev")

    assert labels == ["Page 1 sur 3", "Page 2 sur 3", "Page 3 sur 3"]
    assert flatten(forwards) == expected
    assert flatten(list(reversed(backwards))) == expected
