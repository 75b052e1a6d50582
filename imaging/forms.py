from django import forms

from imaging.models import Modality


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = list(data) if isinstance(data, list | tuple) else ([data] if data else [])
        if not items:
            super().clean(None, initial)  # raises "required"
            return []
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class ImportUploadForm(forms.Form):
    CONTRAST_CHOICES = [
        ("", "Not CT / keep the dataset's flag"),
        ("yes", "Contrast-enhanced"),
        ("no", "Non-contrast"),
    ]

    dataset = forms.CharField(max_length=128, help_text="Created on first import.")
    kind = forms.ChoiceField(choices=[("ct", "Real CT"), ("sct", "Synthetic CT"), ("mr", "MRI")])
    modality = forms.ChoiceField(
        choices=[("", "From the folder layout")] + [(m.value, m.label) for m in Modality if m != Modality.CT],
        required=False,
        help_text="For MRI outside the CHAOS layout.",
    )
    contrast = forms.ChoiceField(choices=CONTRAST_CHOICES, required=False)
    patient = forms.CharField(
        max_length=128,
        required=False,
        help_text="For NIfTI files: a name for their patient (only its pseudonym is kept). Without it each NIfTI "
        "file is a patient of its own; file names are never used.",
    )
    files = MultipleFileField(help_text="A zip of a folder tree, or several DICOM / NIfTI files.")

    def cleaned_contrast(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("contrast") or "")
