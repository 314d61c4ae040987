"""Rules on free text that every app applies where text enters: the forms (through the
models' ``clean_fields``), the spreadsheet imports (which validate with the same models).

- **No formula.** The register is exported as CSV and XLSX, and the open data publishes
  it nationally: a value that a spreadsheet reads as a formula (``=HYPERLINK("http://…
  ?"&A1,"ouvrir")``, ``+cmd|' /C calc'!A0``) would run in every re-user's spreadsheet.
  The exports escape such values, but a re-user's own tool may not: they are refused at
  input, where the person who typed one can be told why.

  The rule: after any leading spaces, a value may not start with ``=`` or ``@`` (what
  spreadsheets read as a formula or a function), nor with a tab, a carriage return or a
  line feed (what CSV readers turn into a new cell or row start). It may start with
  ``+`` or ``-`` only when it is a number or a phone number: the sign followed by a
  digit, then only digits, spaces, dots, slashes, hyphens and parentheses (``-12``,
  ``+33 6 12 34 56 78``, ``+33 (0)1 23 45 67 89``); ``- Taxi`` or ``+A1`` are refused.
  Such a value holds no letter, no quote, no ``|`` nor ``!``: a spreadsheet computes at
  most an arithmetic result from it, never a call.

- **One line.** A text that becomes an e-mail header (a campaign's subject) holds no line
  break nor any other control character: ``Relance\\r\\nBcc: …`` would add a header.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import models

FORMULA_MESSAGE = (
    "Ce texte ne peut pas commencer par « = », « @ », « + » ou « - » : un tableur le "
    "prendrait pour une formule. Retirez ce caractère (un nombre ou un numéro de "
    "téléphone peut commencer par « + » ou « - »)."
)
SINGLE_LINE_MESSAGE = (
    "Ce texte doit tenir sur une ligne, sans retour à la ligne ni caractère de contrôle."
)

_SIGNED_NUMBER = re.compile(r"[+-][0-9][0-9 ./()\-]*")


def looks_like_formula(value: object) -> bool:
    """Whether a spreadsheet could read ``value`` as a formula (see the module's rule)."""
    if not isinstance(value, str):
        return False
    text = value.lstrip(" ")
    if not text:
        return False
    first = text[0]
    if first in "=@\t\r\n":
        return True
    if first in "+-":
        return not _SIGNED_NUMBER.fullmatch(text.rstrip(" "))
    return False


def validate_no_formula(value: object) -> None:
    if looks_like_formula(value):
        raise ValidationError(FORMULA_MESSAGE, code="formula")


def validate_single_line(value: str) -> None:
    """No control character (line breaks included) nor Unicode line separator."""
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value or ""):
        raise ValidationError(SINGLE_LINE_MESSAGE, code="single_line")


@contextmanager
def formulas_refused(
    instance: models.Model, names: Iterable[str], exclude: Iterable[str] | None = None
) -> Iterator[None]:
    """Around a model's ``super().clean_fields(exclude)``: adds a formula error to each
    of ``names`` (not excluded, without an error of its own) whose value looks like a
    formula, together with the fields' other errors."""
    errors: dict = {}
    try:
        yield
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    skipped = set(exclude or ())
    for name in names:
        if name in skipped or name in errors:
            continue
        if looks_like_formula(getattr(instance, name)):
            errors[name] = [ValidationError(FORMULA_MESSAGE, code="formula")]
    if errors:
        raise ValidationError(errors)
