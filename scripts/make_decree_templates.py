"""Write the decree templates the project ships: mesads/lifecycle/docx/<kind>.docx.

    .venv/bin/python scripts/make_decree_templates.py [--check]

Each template is a Word document whose fields are Jinja tags, filled in by docxtpl
(mesads/lifecycle/decrees.py lists the fields). Every tag sits alone in one run of text
so that Word's formatting cannot split it; ``{%p … %}`` tags sit alone in their
paragraph, which docxtpl removes. The output is byte-for-byte reproducible (fixed
document properties and zip dates): run it again after editing the texts below and
commit both; ``--check`` fails when the committed files are not what it makes.

The texts follow the French formal decree layout: authority, title, signatory, « Vu »
(legal references), « Considérant », « Arrête : », articles, place and date, signature.
"""

import argparse
import datetime
import io
import sys
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

OUTPUT = Path(__file__).resolve().parent.parent / "mesads" / "lifecycle" / "docx"
FIXED_DATE = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
ZIP_DATE = (2026, 1, 1, 0, 0, 0)

NOTIFY = (
    "Le présent arrêté sera notifié à son titulaire, transmis au représentant de l’État "
    "dans le département et inscrit au registre des autorisations de stationnement."
)
APPEAL = (
    "Le présent arrêté peut faire l’objet d’un recours devant le tribunal administratif "
    "compétent dans un délai de deux mois à compter de sa notification ou de sa publication."
)
FOR_VISAS = ["{%p for visa in visas %}", "{{ visa }}", "{%p endfor %}"]

# Each decree: (title, lines before « Arrête : », articles). A line starting with "#" is
# an article heading.
DECREES = {
    "attribution": (
        "portant attribution de l’autorisation de stationnement de taxi n° {{ ads_numero }}",
        [
            *FOR_VISAS,
            "{%p if nouveau_regime %}",
            "Vu la liste d’attente des demandes d’autorisation de stationnement rendue publique "
            "en application de l’article L. 3121-5 du code des transports ;",
            "{%p endif %}",
            "Considérant ……… ;",
        ],
        [
            "#Article 1er",
            "L’autorisation de stationnement de taxi n° {{ ads_numero }}, créée le "
            "{{ ads_date_creation }}, est attribuée à compter du {{ date_attribution }} à "
            "{{ titulaire_nom }} (SIRET {{ titulaire_siret }}), pour stationner en attente "
            "de clientèle sur la voie publique de {{ commune_stationnement }}.",
            "#Article 2",
            "{{ regime_paragraphe }}",
            "{%p if nouveau_regime %}",
            "Elle est valable jusqu’au {{ validite_fin }}, sauf renouvellement.",
            "{%p endif %}",
            "#Article 3",
            NOTIFY,
            "#Article 4",
            APPEAL,
        ],
    ),
    "renouvellement": (
        "portant renouvellement de l’autorisation de stationnement de taxi n° {{ ads_numero }}",
        [*FOR_VISAS, "Vu la demande de renouvellement présentée par le titulaire ;"],
        [
            "#Article 1er",
            "L’autorisation de stationnement de taxi n° {{ ads_numero }}, créée le "
            "{{ ads_date_creation }}, dont est titulaire {{ titulaire_nom }} (SIRET "
            "{{ titulaire_siret }}), est renouvelée pour une durée de cinq ans à compter du "
            "{{ date_renouvellement }}, soit jusqu’au {{ validite_fin }}.",
            "#Article 2",
            "{{ regime_paragraphe }}",
            "#Article 3",
            NOTIFY,
            "#Article 4",
            APPEAL,
        ],
    ),
    "cession": (
        # « à un successeur »: on the holder's death, their heirs present the successor.
        "portant transfert de l’autorisation de stationnement de taxi n° {{ ads_numero }} "
        "à un successeur",
        [*FOR_VISAS, "Considérant ……… ;"],
        [
            "#Article 1er",
            "L’autorisation de stationnement de taxi n° {{ ads_numero }}, créée le "
            "{{ ads_date_creation }}, dont était titulaire {{ cedant_nom }} (SIRET "
            "{{ cedant_siret }}), est transférée à compter du {{ date_cession }} à "
            "{{ cessionnaire_nom }} (SIRET {{ cessionnaire_siret }}), successeur présenté à "
            "titre onéreux en application {{ cession_fondement }}.",
            "#Article 2",
            "{{ regime_paragraphe }}",
            "#Article 3",
            "La transaction est inscrite, avec son montant, au registre des transactions tenu "
            "en application de l’article L. 3121-4 du code des transports.",
            "#Article 4",
            NOTIFY,
            "#Article 5",
            APPEAL,
        ],
    ),
    "retrait": (
        "portant retrait de l’autorisation de stationnement de taxi n° {{ ads_numero }}",
        [*FOR_VISAS, "Considérant ……… (motifs du retrait) ;"],
        [
            "#Article 1er",
            "L’autorisation de stationnement de taxi n° {{ ads_numero }}, créée le "
            "{{ ads_date_creation }}, dont est titulaire {{ titulaire_nom }} (SIRET "
            "{{ titulaire_siret }}), est retirée à compter du ………",
            "#Article 2",
            NOTIFY,
            "#Article 3",
            APPEAL,
        ],
    ),
    "nombre": (
        "fixant le nombre d’autorisations de stationnement de taxi",
        [
            *FOR_VISAS,
            "Considérant que {{ registre_inscrites }} au registre à la date du "
            "{{ date_du_jour }} ;",
        ],
        [
            "#Article 1er",
            "Le nombre d’autorisations de stationnement de taxi offertes sur le territoire "
            "{{ autorite_de }} est fixé à {{ nombre_ads }}.",
            "{%p if arrete_precedent %}",
            "#Article 2",
            "L’arrêté du {{ arrete_nombre_date }} fixant à {{ arrete_nombre_ads }} le nombre "
            "d’autorisations de stationnement de taxi est abrogé.",
            "{%p endif %}",
            "#Article {% if arrete_precedent %}3{% else %}2{% endif %}",
            "Le présent arrêté sera publié et transmis au représentant de l’État dans le "
            "département.",
            "#Article {% if arrete_precedent %}4{% else %}3{% endif %}",
            APPEAL,
        ],
    ),
}


def _paragraph(document, text: str, *, bold=False, center=False, size=None, space_after=6):
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)  # one run: a tag never splits across runs
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(space_after)
    return paragraph


def build(kind: str) -> bytes:
    title, preamble, articles = DECREES[kind]
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Marianne"
    style.font.size = Pt(11)
    properties = document.core_properties
    properties.author = properties.last_modified_by = "Mes ADS"
    properties.title = f"Arrêté {title}"
    properties.created = properties.modified = FIXED_DATE
    properties.revision = 1

    _paragraph(document, "{{ autorite_majuscules }}", bold=True)
    _paragraph(document, "Arrêté n° ………", bold=True, center=True, size=14, space_after=2)
    _paragraph(document, title, bold=True, center=True, space_after=18)
    _paragraph(document, "{{ signataire }},", bold=True)
    for line in preamble:
        _paragraph(document, line)
    _paragraph(document, "Arrête :", bold=True, center=True, space_after=12)
    for line in articles:
        if line.startswith("#"):
            _paragraph(document, line[1:], bold=True, space_after=2)
        else:
            _paragraph(document, line)
    _paragraph(document, "Fait à {{ lieu }}, le ………")
    _paragraph(document, "{{ signataire_court }},")
    raw = io.BytesIO()
    document.save(raw)
    return _reproducible(raw.getvalue())


def _reproducible(data: bytes) -> bytes:
    """The same archive with fixed dates, in the same order: identical on every run."""
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return output.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    options = parser.parse_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    stale = []
    for kind in DECREES:
        path = OUTPUT / f"{kind}.docx"
        data = build(kind)
        if options.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(path.name)
        else:
            path.write_bytes(data)
            print(f"{path.relative_to(OUTPUT.parent.parent.parent)} ({len(data):,} octets)")
    if stale:
        print("À régénérer : " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
