"""Checks and normalisations of the identifiers found on an ADS record.

Pure functions, shared by the models' ``clean()``, the forms and the spreadsheet import,
so that a SIRET or a plate is judged the same way everywhere.
"""

import re

from django.core.exceptions import ValidationError

SIRET_RE = r"^[0-9]{14}$"
# La Poste's establishments share the SIREN 356 000 000; INSEE numbers them without the
# Luhn key, so their SIRET is checked by a sum of digits instead (a multiple of 5). Only
# the head office, 356 000 000 00048, satisfies Luhn.
LA_POSTE_SIREN = "356000000"


def normalize_siret(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value or "")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        n = int(char)
        if index % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def validate_siret(value: str) -> None:
    if not re.fullmatch(SIRET_RE, value):
        raise ValidationError(
            "Le SIRET doit comporter exactement 14 chiffres.", code="siret_format"
        )
    if value.startswith(LA_POSTE_SIREN):
        if not _luhn_ok(value) and sum(int(c) for c in value) % 5 != 0:
            raise ValidationError("Ce numéro SIRET de La Poste n’est pas valide.", code="siret_key")
        return
    if not _luhn_ok(value):
        raise ValidationError(
            "Ce numéro SIRET n’est pas valide (la clé de contrôle ne correspond pas) : "
            "vérifiez qu’aucun chiffre n’a été inversé ou oublié.",
            code="siret_key",
        )


# SIV, the registration system since 2009: two letters, three digits, two letters.
# I, O and U are never used, nor SS or WW as first block, but plates issued abroad or
# in transit exist, so only the shape is enforced.
PLATE_SIV_RE = r"^[A-Z]{2}-[0-9]{3}-[A-Z]{2}$"
# FNI, the former system still seen on old vehicles: 1 to 4 digits, 1 to 3 letters,
# then the département (2 digits, 2A/2B, or 3 digits overseas).
PLATE_FNI_RE = r"^[0-9]{1,4} [A-Z]{1,3} (?:[0-9]{2}|2A|2B|97[1-6])$"
PLATE_RE = rf"(?:{PLATE_SIV_RE[1:-1]})|(?:{PLATE_FNI_RE[1:-1]})"

_SIV_INPUT = re.compile(r"^([A-Z]{2})([0-9]{3})([A-Z]{2})$")
_FNI_INPUT = re.compile(r"^([0-9]{1,4})([A-Z]{1,3})([0-9]{2}|2A|2B|97[1-6])$")


def plate_search_key(value: str) -> str:
    """Upper-case letters and digits only: what a search compares (``ab123cd``)."""
    return re.sub(r"[^A-Z0-9]", "", (value or "").upper())


def is_full_plate(value: str) -> bool:
    """``ab123cd``, ``AB-123-CD`` or ``1234 AB 56``: a whole plate, in any spelling."""
    compact = plate_search_key(value)
    return bool(_SIV_INPUT.match(compact) or _FNI_INPUT.match(compact))


def normalize_plate(value: str) -> str:
    """Canonical form: ``AB-123-CD`` (SIV) or ``1234 AB 56`` (FNI).

    A value that fits neither format is returned stripped and upper-cased, for
    ``validate_plate`` to refuse with a message.
    """
    compact = plate_search_key(value)
    if match := _SIV_INPUT.match(compact):
        return "-".join(match.groups())
    if match := _FNI_INPUT.match(compact):
        return " ".join(match.groups())
    return (value or "").strip().upper()


def validate_plate(value: str) -> None:
    if not re.fullmatch(PLATE_RE, value):
        raise ValidationError(
            "Immatriculation non reconnue : attendu le format AB-123-CD "
            "(ou l’ancien format 1234 AB 56).",
            code="plate_format",
        )


PHONE_RE = r"^(?:0[1-9][0-9]{8}|\+[1-9][0-9]{6,14})$"


def normalize_phone(value: str) -> str:
    """French numbers as ``0612345678``; +33 numbers are brought back to that form."""
    compact = re.sub(r"[\s.\-()/]", "", value or "")
    if compact.startswith("0033"):
        compact = "+" + compact[2:]
    if compact.startswith("+33") and len(compact) == 12:
        compact = "0" + compact[3:]
    return compact


def validate_phone(value: str) -> None:
    if not re.fullmatch(PHONE_RE, value):
        raise ValidationError(
            "Numéro de téléphone non valide : 10 chiffres (06 12 34 56 78) "
            "ou format international (+590 …).",
            code="phone_format",
        )
