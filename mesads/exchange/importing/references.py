"""The reference data a row names: its authority (by code, name and type, with their
synonyms) and its commune, looked up in memory from one query each."""

import re
from collections import defaultdict
from dataclasses import dataclass

from mesads.authorities.models import Authority
from mesads.geo.models import Commune

from .. import parsing


@dataclass
class _AuthorityRow:
    pk: int
    type: str
    name: str
    departement_code: str
    departement_id: int | None
    code: str
    active: bool

    @property
    def label(self) -> str:
        """The name with its code: several communes share a name."""
        return f"{self.name} ({self.code})" if self.code else self.name


# The type of an authority as town halls write it, besides the labels of Authority.Type
# (compared as ``parsing.name_key``: « C.A. » is « CA », « communaute d'agglo » too).
AUTHORITY_TYPE_SYNONYMS = {
    Authority.Type.COMMUNE: ["Mairie", "Ville", "Municipalité"],
    Authority.Type.EPCI: [
        "Communauté d’agglomération",
        "Communauté d’agglo",
        "Agglomération",
        "Agglo",
        "CA",
        "Communauté de communes",
        "CC",
        "Communauté urbaine",
        "CU",
        "Métropole",
        "Intercommunalité",
        "Établissement public de coopération intercommunale",
    ],
    Authority.Type.PREFECTURE: ["Préfet", "Préfecture de police"],
    Authority.Type.AIRPORT: ["Aérodrome"],
}


def _unresolved(field_name: str, reason: str) -> tuple[None, str, str]:
    """No authority for a row: the field of the column at fault, and why."""
    return None, field_name, reason


class AuthorityIndex:
    """Every authority by its code (INSEE, SIREN, département, OACI) and by its name and
    département, compared without case, accents or punctuation."""

    TYPES = {parsing.name_key(str(label)): value for value, label in Authority.Type.choices}
    TYPES |= {parsing.name_key(value): value for value in Authority.Type.values}
    TYPES |= {
        parsing.name_key(word): value
        for value, words in AUTHORITY_TYPE_SYNONYMS.items()
        for word in words
    }

    def __init__(self) -> None:
        self.by_code: dict[str, list[_AuthorityRow]] = defaultdict(list)
        self.by_name: dict[tuple[str, str], list[_AuthorityRow]] = defaultdict(list)
        self.by_pk: dict[int, _AuthorityRow] = {}
        rows = Authority.objects.values_list(
            "pk",
            "type",
            "name",
            "departement__code",
            "departement_id",
            "commune__insee_code",
            "commune__is_active",
            "epci__siren",
            "epci__is_active",
            "prefecture__code",
            "airport__code",
        )
        for pk, kind, name, dept, dept_id, insee, c_active, siren, e_active, pref, oaci in rows:
            code = insee or siren or pref or oaci or ""
            active = c_active if insee else e_active if siren else True
            row = _AuthorityRow(pk, kind, name, dept or "", dept_id, code, bool(active))
            self.by_pk[pk] = row
            self.by_code[code.upper()].append(row)
            self.by_name[(parsing.name_key(name), dept or "")].append(row)

    @staticmethod
    def normalize_code(text: str) -> list[str]:
        """The code as written, then as it was before a spreadsheet took off its leading
        zeros (``1053`` → ``01053``, ``1`` → ``01``)."""
        code = re.sub(r"\s", "", text).upper()
        candidates = [code]
        if code.isdigit():
            for width in (2, 5, 9):
                if len(code) < width:
                    candidates.append(code.zfill(width))
                    break
        return candidates

    def resolve(
        self, type_label: str, name: str, code: str, departement: str
    ) -> tuple[_AuthorityRow | None, str, str]:
        """The authority of a row; or None, the field of the column at fault and the
        French reason."""
        kind = None
        if type_label:
            kind = self.TYPES.get(parsing.name_key(type_label))
            if kind is None:
                labels = ", ".join(f"« {label} »" for label in Authority.Type.labels)
                return _unresolved(
                    "authority.type",
                    f"Type de gestionnaire inconnu « {type_label} » : attendu {labels} (ou "
                    "« Mairie », « Communauté d’agglomération », « Métropole »…).",
                )
        departement = departement.strip().upper()
        if departement.isdigit() and len(departement) == 1:
            departement = departement.zfill(2)
        if code:
            for candidate in self.normalize_code(code):
                found = self.by_code.get(candidate, [])
                if kind:
                    found = [row for row in found if row.type == kind] or found
                if len(found) > 1:
                    found = [row for row in found if row.active] or found
                if len(found) == 1:
                    return found[0], "", ""
                if found:
                    return _unresolved(
                        "authority.code",
                        f"Plusieurs gestionnaires ont le code « {code} » : précisez le type de "
                        "gestionnaire.",
                    )
            return _unresolved(
                "authority.code",
                f"Aucun gestionnaire n’a le code « {code} » (code INSEE d’une commune, SIREN "
                "d’un EPCI, code du département pour une préfecture, code OACI d’un aéroport).",
            )
        if not name:
            return _unresolved(
                "authority.name",
                "Gestionnaire non indiqué : donnez son code INSEE ou SIREN, ou son nom et son "
                "département.",
            )
        if not departement:
            return _unresolved(
                "authority.departement.code",
                f"Pour trouver le gestionnaire « {name} » par son nom, indiquez aussi son "
                "département (ou donnez son code INSEE ou SIREN).",
            )
        found = self.by_name.get((parsing.name_key(name), departement), [])
        if kind:
            found = [row for row in found if row.type == kind]
        if len(found) > 1:
            found = [row for row in found if row.active] or found
        if len(found) == 1:
            return found[0], "", ""
        if found:
            return _unresolved(
                "authority.name",
                f"Plusieurs gestionnaires s’appellent « {name} » dans le département "
                f"{departement} : indiquez le code INSEE ou SIREN.",
            )
        return _unresolved(
            "authority.name", f"Aucun gestionnaire « {name} » dans le département {departement}."
        )


class CommuneIndex:
    """Communes by INSEE code, for the commune where an EPCI's ADS is used; loaded on
    first use (most files have none)."""

    def __init__(self) -> None:
        self._codes: dict[str, int] | None = None

    def get(self, code: str) -> int | None:
        if self._codes is None:
            self._codes = {}
            # Current communes win over delegated ones and over those that disappeared.
            rows = Commune.objects.order_by("-is_active", "type", "pk").values_list(
                "insee_code", "pk", "type"
            )
            for insee_code, pk, kind in rows:
                if kind == Commune.Type.ACTUELLE:
                    self._codes.setdefault(insee_code, pk)
            for insee_code, pk, _ in rows:
                self._codes.setdefault(insee_code, pk)
        for candidate in AuthorityIndex.normalize_code(code):
            if candidate in self._codes:
                return self._codes[candidate]
        return None


# --- rows -------------------------------------------------------------------------------
