"""The change feed: every creation, change, deletion and restoration of an ADS, in an
order a re-user can follow with a cursor and never miss one.

Why positions, not timestamps or ids: a trigger writes each change (``Change``) in the
writing transaction, but transactions commit in another order than they wrote; a cursor
on the write time or on the id would step over a row that a slow transaction (a large
import) commits later. So a change gets its ``position`` only once committed: ``stamp``
numbers the committed, unnumbered rows after the highest position, under a lock that
makes stampers take turns (an advisory lock on PostgreSQL; SQLite has one writer at a
time). A row committed after a stamp is numbered by a later stamp, above every position
already served. The feed serves numbered rows only, so:

    **guarantee**: once a position P has been served, every change served later has a
    position above P, and every committed change is served. A re-user who applies the
    feed in order, from the position of its last page, misses nothing and needs no
    safety lag.

Positions are national, so they are never shown as they are: a key limited to the Gard
would learn from them how much, and when, the rest of France changes. The feed and the
list give **opaque cursors** instead (``encode_position``): the position encrypted
(AES-GCM, a fresh nonce each time, a key derived from SECRET_KEY), that only this server
reads back. The order and the guarantee are the positions', unchanged.

Each entry carries the ADS as it is now (or null when it is no longer in the register,
or out of the key's reach): applying entries is idempotent, and a page lists each ADS
once, at its last position. Reading a page costs an index range scan on ``position``
(or on département and position) and the page's ADS: nothing depends on the size of the
history.
"""

import base64
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connection, transaction
from django.utils.crypto import salted_hmac

from .keys import Caller
from .models import Change

# Any constant: the advisory lock that stampers take in turn on PostgreSQL.
STAMP_LOCK = 7_311_104

_STAMP_SQL = """
UPDATE api_change SET position = base.top + pending.rank
FROM (
    SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rank
    FROM api_change WHERE position IS NULL
) AS pending,
(SELECT COALESCE(MAX(position), 0) AS top FROM api_change) AS base
WHERE api_change.id = pending.id
"""


# --- opaque cursors ---------------------------------------------------------------------

# The cursor of the start of the feed, for every key (``depuis=0``).
START = "0"
# What a cursor looks like (36 bytes in URL-safe base64), for the schema.
CURSOR_PATTERN = r"^(?:0|[A-Za-z0-9_-]{48})$"
_CURSOR_SALT = "mesads.api.changes.cursor"
_AAD = b"mesads-changes-v1"


def _cipher(secret: str) -> AESGCM:
    return AESGCM(salted_hmac(_CURSOR_SALT, "", secret=secret, algorithm="sha256").digest())


def encode_position(position: int) -> str:
    """A cursor for ``position`` that tells nothing of it (48 URL-safe characters)."""
    if position == 0:
        return START
    nonce = os.urandom(12)
    sealed = _cipher(settings.SECRET_KEY).encrypt(nonce, struct.pack(">Q", position), _AAD)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def decode_position(cursor: str) -> int | None:
    """The position of a cursor this server gave (with the current secret key or one of
    its fallbacks: a key rotation does not break re-users' mirrors); None otherwise."""
    if cursor == START:
        return 0
    try:
        raw = base64.b64decode(cursor, altchars="-_", validate=True)
    except ValueError:  # binascii.Error, or a character that is not ASCII
        return None
    if len(raw) != 12 + 8 + 16:
        return None
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        try:
            plain = _cipher(secret).decrypt(raw[:12], raw[12:], _AAD)
        except InvalidTag:
            continue
        return struct.unpack(">Q", plain)[0]
    return None


# --- positions ---------------------------------------------------------------------------


def stamp() -> int:
    """Number the committed changes that have no position yet; returns how many.

    Runs in its own transaction: call it outside any other (API views are not atomic).
    """
    if not Change.objects.filter(position__isnull=True).exists():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [STAMP_LOCK])
        cursor.execute(_STAMP_SQL)
        return cursor.rowcount


def head() -> int:
    """The highest position served so far (0 for an empty feed)."""
    last = Change.objects.filter(position__isnull=False).order_by("-position").first()
    return last.position if last else 0


def changes_page(caller: Caller, after: int, size: int) -> tuple[list[Change], bool]:
    """Up to ``size`` changes after position ``after`` that the key may see; whether more
    follow."""
    queryset = Change.objects.filter(position__gt=after).order_by("position")
    if not caller.is_national:
        queryset = queryset.filter(departement_id__in=sorted(caller.departement_ids))
    rows = list(queryset.only("ads_id", "kind", "position")[: size + 1])
    return rows[:size], len(rows) > size
