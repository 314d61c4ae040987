"""The upload form of an import, shared by the design-system page and the admin."""

from django import forms

from mesads.ads.forms import FlatDsfrForm

from . import parsing


def check_spreadsheet(upload):
    """Refuse, before any job is created, what is not a spreadsheet we read."""
    head = upload.read(8192)
    upload.seek(0)
    try:
        parsing.check_upload(upload.name, upload.size, head)
    except parsing.FileRefused as error:
        raise forms.ValidationError(str(error)) from None
    return upload


class ImportOptionsForm(forms.Form):
    sync = forms.BooleanField(
        label="Supprimer les ADS absentes du fichier",
        required=False,
        help_text="Pour chaque gestionnaire présent dans le fichier, ses ADS qui n’y figurent "
        "pas sont supprimées (suppression réversible). Leur nombre est indiqué avant de "
        "confirmer.",
    )
    comment = forms.CharField(
        label="Commentaire pour l’historique",
        required=False,
        max_length=255,
        help_text="Facultatif : il accompagne le nom du fichier dans l’historique des ADS.",
    )


class ImportUploadForm(FlatDsfrForm, ImportOptionsForm):
    import_file = forms.FileField(
        label="Fichier à importer",
        help_text="Un classeur XLSX ou un fichier CSV, une ligne par ADS.",
        error_messages={"required": "Choisissez le fichier à importer."},
        widget=forms.FileInput(attrs={"accept": ".xlsx,.csv", "class": "fr-upload"}),
    )
    field_order = ["import_file", "sync", "comment"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["import_file"].widget.group_class = "fr-upload-group"

    def clean_import_file(self):
        return check_spreadsheet(self.cleaned_data["import_file"])
