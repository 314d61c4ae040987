"""The upload form of an import, shared by the design-system page and the admin."""

from django import forms

from mesads.ads.forms import FlatDsfrForm
from mesads.core.storage import FileNotStored

from . import parsing
from .models import ImportJob
from .tasks import start_import


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
    """The options of an import, and the queuing of its file once the form is valid."""

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

    def start_import(self, user) -> ImportJob | None:
        """Store the valid form's file as a new job and queue its check; None, with the
        error on the file field, when the storage refused the file."""
        try:
            return start_import(
                self.cleaned_data["import_file"],
                user=user,
                sync=self.cleaned_data["sync"],
                comment=self.cleaned_data["comment"],
            )
        except FileNotStored:
            self.add_error(
                "import_file",
                "Le fichier n’a pas pu être enregistré : l’espace de stockage est "
                "momentanément indisponible. Rien n’a été importé ; réessayez plus tard.",
            )
            return None


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
