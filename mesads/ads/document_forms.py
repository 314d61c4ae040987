"""Forms to upload the legal documents of an ADS and of an authority."""

from django import forms
from django.utils.functional import lazy

from mesads.authorities.models import Authority

from .documents import ACCEPT_ATTRIBUTE, max_size_text, validate_document
from .forms import DateInput, FlatDsfrForm
from .models import ADS, ADSDocument, AuthorityDecree


class DocumentFileInput(forms.FileInput):
    """The design system's upload field, offering only the accepted formats."""

    group_class = "fr-upload-group"

    def __init__(self, attrs=None):
        super().__init__(attrs={"class": "fr-upload", "accept": ACCEPT_ATTRIBUTE, **(attrs or {})})


def _file_help_text() -> str:
    return f"Formats acceptés : PDF, JPEG ou PNG. Taille maximale : {max_size_text()}."


# Evaluated when rendered, so that the limit shown follows settings.MAX_DOCUMENT_SIZE.
FILE_HELP_TEXT = lazy(_file_help_text, str)()
FILE_ERROR_MESSAGES = {
    "required": "Choisissez le fichier à déposer.",
    "empty": "Le fichier est vide : choisissez un autre fichier.",
}


class _DocumentUploadForm(FlatDsfrForm, forms.ModelForm):
    """Rendered field by field like the ADS form (templates/core/fields/)."""

    def clean_file(self):
        upload = self.cleaned_data["file"]
        validate_document(upload)
        return upload


class ADSDocumentForm(_DocumentUploadForm):
    class Meta:
        model = ADSDocument
        fields = ["kind", "file"]
        widgets = {"file": DocumentFileInput}
        help_texts = {"file": FILE_HELP_TEXT}
        error_messages = {"file": FILE_ERROR_MESSAGES}

    def __init__(self, *args, ads: ADS, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.ads = ads


class AuthorityDecreeForm(_DocumentUploadForm):
    class Meta:
        model = AuthorityDecree
        fields = ["date", "ads_count", "file"]
        widgets = {"date": DateInput(), "file": DocumentFileInput}
        help_texts = {
            "ads_count": "Le nombre d’ADS que l’arrêté autorise sur le territoire.",
            "file": FILE_HELP_TEXT,
        }
        error_messages = {"file": FILE_ERROR_MESSAGES}

    def __init__(self, *args, authority: Authority, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.authority = authority
