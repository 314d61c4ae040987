"""The e-mails a feature sends, chosen on the profile page beside the account's own.

A feature (the reminders, say) registers its preferences form here at its app's
``ready()``; the profile page shows and saves every registered form, in order, each in
its own fieldset. The accounts app thus knows none of the features built above it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms


@dataclass(frozen=True)
class PreferencesSection:
    key: str  # unique: names the fieldset's legend (``<key>-legend``)
    legend: str  # what the fieldset is about, in French
    form_for: Callable[[Any, Any], forms.BaseForm]  # (user, data) → a form with save()


_sections: dict[str, PreferencesSection] = {}


def register_preferences(key: str, legend: str, form_for: Callable[[Any, Any], Any]) -> None:
    """Add a fieldset to the profile's preferences (again with the same key: replaced)."""
    _sections[key] = PreferencesSection(key, legend, form_for)


def preferences_forms(user: Any, data: Any = None) -> list[tuple[PreferencesSection, Any]]:
    """Each registered section with its form for ``user`` (bound to ``data`` if given)."""
    return [(section, section.form_for(user, data)) for section in _sections.values()]
