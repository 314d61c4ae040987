"""The certification workflow: the manager attests a record, the prefecture certifies it or
sends it back.

- The manager **attests** (« je certifie l’exactitude… ») each time they save the record
  (``services.save_ads``), and may attest again without changing it (``attest``): a record
  last attested over a year ago is « à vérifier ».
- A prefecture agent of the record's département (or national staff) **certifies** it,
  one by one or in bulk; a substantive change after that makes it « à recertifier ».
  Only a complete record is certified: the prefecture vouches for what the law requires.
- The prefecture may **send a record back** to its managers with a comment; they are told
  by e-mail and the ADS page shows the comment until they save the record again.

Every step is a revision of the ADS (who, when, why), indexed for the prefecture's feed.
Each step also increments the ADS's ``version``: a manager's form opened before a
certification would otherwise overwrite it when saved, so it becomes a conflict instead.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

import reversion
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mesads.authorities.models import Authority
from mesads.core.text import de
from mesads.users.models import AuthorityAccess, User
from mesads.users.notifications import notify
from mesads.users.scope import scope_for

from .models import ADS, ATTESTATION_VALIDITY, ADSQuerySet, certified_q
from .services import record_revision

# Bulk certification acts on one page of a list at most; a bigger POST is cut, not obeyed.
BULK_LIMIT = 200

CERTIFICATION_COMMENT = "Certification par la préfecture"
ATTESTATION_COMMENT = "Attestation"


class CertificationError(Exception):
    """The record cannot be certified as it is; the message says why, in French."""


def attested_q(now: datetime.datetime, prefix: str = "") -> Q:
    """Attested by the manager within the last twelve months (the opposite of « à vérifier »)."""
    return Q(**{f"{prefix}attested_at__gte": now - ATTESTATION_VALIDITY})


def never_certified_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}certified_at__isnull": True})


def certifiable_by(user: User) -> ADSQuerySet:
    """The live ADS the user may certify: those of the départements whose prefecture staff
    they belong to (national staff: all)."""
    return ADS.objects.live().filter(
        authority__in=Authority.objects.supervised_by(user).values("pk")
    )


@dataclass(frozen=True)
class Rights:
    """What a user may do with an ADS they can read, on the certification side."""

    attest: bool = False
    certify: bool = False


def rights_on(user: User, ads: ADS) -> Rights:
    """May the user attest, certify this ADS? Read from the user's scope: no query."""
    if ads.deleted_at is not None:
        return Rights()
    scope = scope_for(user)
    return Rights(
        attest=scope.can_write(ads.authority) and not ads.authority.is_locked,
        certify=scope.supervises(ads.authority),
    )


def _clear_sent_back(ads: ADS) -> list[str]:
    ads.sent_back_at, ads.sent_back_by, ads.sent_back_comment = None, None, ""
    return ["sent_back_at", "sent_back_by", "sent_back_comment"]


@transaction.atomic
def attest(ads: ADS, user: User) -> ADS:
    """The manager attests the record again, as it is.

    It answers a send-back too: the manager has looked at the record and stands by it.
    """
    ads = ADS.objects.locked(ads.pk)
    with reversion.create_revision():
        ads.attested_at, ads.attested_by = timezone.now(), user
        record_revision(
            ads, user, ATTESTATION_COMMENT, ["attested_at", "attested_by", *_clear_sent_back(ads)]
        )
    return ads


def is_certified(ads: ADS) -> bool:
    return ads.certification_status == "certifiée"


def _certify(ads: ADS, user: User) -> None:
    with reversion.create_revision():
        ads.certified_at, ads.certified_by = timezone.now(), user
        record_revision(
            ads,
            user,
            CERTIFICATION_COMMENT,
            ["certified_at", "certified_by", *_clear_sent_back(ads)],
        )


def incomplete_message(ads: ADS) -> str:
    return (
        f"L’ADS n° {ads.number} est incomplète : elle ne peut pas être certifiée avant que "
        "son gestionnaire l’ait complétée."
    )


@transaction.atomic
def certify(ads: ADS, user: User) -> bool:
    """Certify one record; False when it already was, with no change since.

    Raises CertificationError for a record that is incomplete or deleted.
    """
    ads = ADS.objects.locked(ads.pk)
    if ads.deleted_at is not None:
        raise CertificationError(f"L’ADS n° {ads.number} est supprimée.")
    if not ads.is_complete:
        raise CertificationError(incomplete_message(ads))
    if is_certified(ads):
        return False
    _certify(ads, user)
    return True


@dataclass
class BulkResult:
    certified: list[ADS] = field(default_factory=list)
    already: list[ADS] = field(default_factory=list)
    incomplete: list[ADS] = field(default_factory=list)
    # Ids the user may not certify (another département, deleted, unknown): not revealed.
    ignored: int = 0


@transaction.atomic
def certify_bulk(user: User, ids: Iterable[int], departement_id: int | None = None) -> BulkResult:
    """Certify the selected records the user may certify, one revision each.

    Incomplete records are skipped and reported; ids outside the user's reach (or, with
    ``departement_id``, outside that département) are ignored and only counted.
    """
    wanted = list(dict.fromkeys(ids))[:BULK_LIMIT]
    allowed = certifiable_by(user)
    if departement_id is not None:
        allowed = allowed.filter(authority__departement_id=departement_id)
    found = list(
        allowed.filter(pk__in=wanted)
        .select_for_update(of=("self",))
        .select_related("authority")
        .order_by("authority__name", "number_sort_key", "pk")
    )
    result = BulkResult(ignored=len(wanted) - len(found))
    for ads in found:
        if not ads.is_complete:
            result.incomplete.append(ads)
        elif is_certified(ads):
            result.already.append(ads)
        else:
            _certify(ads, user)
            result.certified.append(ads)
    return result


def managers_of(ads: ADS) -> list[User]:
    """The people who manage the ADS's register: its authority's, and the EPCI's it
    delegated to."""
    authorities = [ads.authority_id]
    if ads.authority.delegated_to_id:
        authorities.append(ads.authority.delegated_to_id)
    return list(
        User.objects.filter(
            authority_accesses__authority__in=authorities,
            authority_accesses__status=AuthorityAccess.Status.ACCEPTED,
            is_active=True,
        )
        .distinct()
        .order_by("pk")
    )


@transaction.atomic
def send_back(ads: ADS, user: User, comment: str, link: str) -> int:
    """Send the record back to its managers with the prefecture's comment; returns how many
    e-mails were queued (managers who switched these notifications off get none).

    ``link`` is the ADS page's absolute address, for the e-mail.
    """
    ads = ADS.objects.locked(ads.pk)
    with reversion.create_revision():
        ads.sent_back_at, ads.sent_back_by, ads.sent_back_comment = timezone.now(), user, comment
        record_revision(
            ads,
            user,
            f"Renvoyée au gestionnaire : {comment}",
            ["sent_back_at", "sent_back_by", "sent_back_comment"],
        )
    recipients = [manager for manager in managers_of(ads) if manager.pk != user.pk]
    return notify(
        "sent_back",
        recipients,
        f"L’ADS n° {ads.number} {de(ads.authority.name)} vous est renvoyée par la préfecture",
        "users/emails/sent_back.txt",
        {"ads": ads, "authority": ads.authority, "comment": comment, "by": user, "url": link},
    )


__all__ = [
    "BULK_LIMIT",
    "BulkResult",
    "CertificationError",
    "Rights",
    "attest",
    "attested_q",
    "certifiable_by",
    "certified_q",
    "certify",
    "certify_bulk",
    "managers_of",
    "never_certified_q",
    "rights_on",
    "send_back",
]
