"""The blank import template: an XLSX workbook with the instructions, then the "ADS" sheet
whose header row is exactly what the import expects (see ``importing.expected_headers``).
"""

from typing import IO

from mesads.ads.models import Driver
from mesads.authorities.models import Authority

from . import xlsx
from .columns import ADS_COLUMNS, AUTHORITY_COLUMNS, DRIVER_COLUMNS, Column, Kind, driver_header
from .importing import TEMPLATE_DRIVER_BLOCKS, expected_headers
from .parsing import human_size, max_size

FILENAME = "modele-import-ads.xlsx"
INSTRUCTIONS_HEADERS = ["Colonne", "Obligatoire", "Contenu attendu", "Exemple"]

_KIND_HELP = {
    Kind.DATE: "Date jj/mm/aaaa (jj/mm/aa, aaaa-mm-jj et les dates Excel sont acceptées).",
    Kind.BOOL: "Oui ou Non (O/N, X, 1/0, Vrai/Faux acceptés ; vide = Non).",
    Kind.NULL_BOOL: "Oui ou Non (O/N, X, 1/0, Vrai/Faux acceptés) ; vide si inconnu.",
}

# column field → (required?, what to write, example)
_HELP: dict[str, tuple[str, str, str]] = {
    "authority.type": (
        "Non",
        "Type du gestionnaire : "
        + ", ".join(str(label) for label in Authority.Type.labels)
        + " (ou comme on l’écrit : Mairie, Ville, Communauté d’agglomération, "
        "Communauté de communes, Métropole…). Sert seulement à lever une ambiguïté.",
        "Commune",
    ),
    "authority.name": (
        "Si pas de code",
        "Nom du gestionnaire (commune, EPCI, préfecture, aéroport). Les majuscules, accents "
        "et tirets sont indifférents.",
        "Nîmes",
    ),
    "authority.code": (
        "Conseillé",
        "Code INSEE de la commune (5 caractères), SIREN de l’EPCI (9 chiffres), numéro du "
        "département pour une préfecture, code OACI d’un aéroport. Prioritaire sur le nom.",
        "30189",
    ),
    "authority.departement.code": (
        "Si pas de code",
        "Numéro du département du gestionnaire, nécessaire pour le trouver par son nom.",
        "30",
    ),
    "number": (
        "Oui",
        "Numéro de l’ADS, unique pour un gestionnaire. Une ADS déjà enregistrée sous ce "
        "numéro est mise à jour ; sinon elle est créée.",
        "12",
    ),
    "commune.insee_code": (
        "Non",
        "Uniquement pour une ADS délivrée par un EPCI : code INSEE de la commune membre où "
        "elle s’exerce.",
        "",
    ),
    "creation_date": ("Conseillé", "Date de création de l’ADS.", "01/03/2005"),
    "attribution_date": (
        "Non",
        "Uniquement pour une ADS créée avant le 1er octobre 2014.",
        "01/06/2012",
    ),
    "last_renewal_date": (
        "Non",
        "Uniquement pour une ADS créée à partir du 1er octobre 2014 (valable 5 ans).",
        "",
    ),
    "in_use": ("Non", "L’ADS est-elle exploitée ? Non : ADS vacante.", "Oui"),
    "holder_name": ("Si exploitée", "Nom du titulaire (personne ou société).", "Taxi Arènes SARL"),
    "holder_siret": (
        "Si exploitée",
        "SIRET du titulaire : 14 chiffres, espaces acceptés.",
        "732 829 320 00074",
    ),
    "holder_phone": ("Non", "Téléphone du titulaire.", "06 12 34 56 78"),
    "holder_email": ("Non", "Adresse électronique du titulaire.", "contact@example.com"),
    "vehicle_plate": (
        "Si exploitée",
        "Immatriculation : AB-123-CD (ou ancien format 1234 AB 56), espaces ou tirets acceptés.",
        "AB-123-CD",
    ),
    "vehicle_pmr": (
        "Si exploitée",
        "Véhicule accessible aux personnes en fauteuil roulant.",
        "Non",
    ),
    "vehicle_low_emission": ("Si exploitée", "Véhicule à faibles émissions.", "Oui"),
    "cpam_agreement": ("Non", "Taxi conventionné par l’Assurance maladie.", "Oui"),
    "notes": ("Non", "Texte libre.", ""),
}

_DRIVER_HELP: dict[str, tuple[str, str, str]] = {
    "status": (
        "Si conducteur",
        "Statut : " + ", ".join(str(label) for label in Driver.Status.labels) + ".",
        "Salarié",
    ),
    "name": ("Si conducteur", "Nom et prénom.", "Jean Martin"),
    "siret": (
        "Non",
        "SIRET propre : seulement pour un titulaire exploitant ou un locataire.",
        "",
    ),
    "card_number": ("Si exploitée", "Numéro de carte professionnelle.", "CP-30-0001"),
    "lease_start_date": ("Non", "Uniquement pour un locataire-gérant.", ""),
}


def general_rules() -> list[str]:
    return [
        "Une ligne par ADS, sous la ligne d’en-tête de la feuille « ADS » : ne modifiez pas les "
        "intitulés des colonnes (l’ordre est libre).",
        "Un fichier exporté de Mes ADS se réimporte tel quel ; ses colonnes « Complète », "
        "« Attestation » et « Certification » sont ignorées.",
        "Conducteurs : un bloc de colonnes « Conducteur N – … » par conducteur ; ajoutez des blocs "
        "(Conducteur 4, 5…) si nécessaire. Une ADS créée depuis le 1er octobre 2014 n’a qu’un "
        "conducteur, son titulaire (statut « Titulaire exploitant »).",
        "Tout ou rien : si une ligne est invalide, rien n’est enregistré et toutes les erreurs "
        "sont listées (ligne, colonne, message).",
        "Les ADS déjà enregistrées sont mises à jour (même gestionnaire, même numéro), les autres "
        "créées ; une ADS identique n’est pas modifiée. L’option « supprimer les ADS absentes du "
        "fichier » supprime les ADS des gestionnaires du fichier qui n’y figurent pas.",
        "Formats acceptés : ce classeur (.xlsx) ou un CSV (UTF-8 ou Windows-1252, séparateur « ; » "
        f"ou « , »), jusqu’à {human_size(max_size())}.",
    ]


def _help_row(header: str, column: Column, help_: tuple[str, str, str]) -> list[str]:
    required, text, example = help_
    kind_help = _KIND_HELP.get(column.kind)
    if kind_help:
        text = f"{text} {kind_help}"
    return [header, required, text, example]


def instruction_rows() -> list[list[str]]:
    rows = [["Mode d’emploi", "", line, ""] for line in general_rules()]
    rows.append(["", "", "", ""])
    for column in AUTHORITY_COLUMNS + ADS_COLUMNS:
        if column.imported:
            rows.append(_help_row(column.header, column, _HELP[column.field]))
    for column in DRIVER_COLUMNS:
        if column.imported:
            rows.append(_help_row(driver_header(1, column), column, _DRIVER_HELP[column.field]))
    return rows


def write_template(output: str | IO[bytes]) -> None:
    """The blank template: "Mode d’emploi", then the "ADS" sheet to fill in."""
    headers = expected_headers(TEMPLATE_DRIVER_BLOCKS)
    with xlsx.Workbook(output, ["Mode d’emploi", "ADS"]) as workbook:
        workbook.write_sheet(INSTRUCTIONS_HEADERS, instruction_rows(), widths=[38, 14, 90, 22])
        workbook.write_sheet(headers, [])
