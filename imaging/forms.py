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


class PacsImportForm(forms.Form):
    """Search the PACS (one study, accession numbers, or a range of study dates), then import the series chosen."""

    study_uid = forms.CharField(label="StudyInstanceUID", max_length=64, required=False)
    accessions = forms.CharField(
        label="Accession numbers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line or separated by commas (used for the search only, never stored).",
    )
    date_from = forms.DateField(label="Study date from", required=False, help_text="YYYY-MM-DD")
    date_to = forms.DateField(label="Study date to", required=False, help_text="YYYY-MM-DD")
    series_modality = forms.ChoiceField(
        label="Series modality", choices=[("", "Any"), ("CT", "CT"), ("MR", "MR")], required=False
    )
    series = forms.MultipleChoiceField(
        label="Series to import", required=False, widget=forms.CheckboxSelectMultiple, choices=[]
    )
    dataset = forms.CharField(max_length=128, help_text="Created on first import.")
    kind = forms.ChoiceField(choices=[("ct", "Real CT"), ("sct", "Synthetic CT"), ("mr", "MRI")])
    modality = forms.ChoiceField(
        choices=[("", "From the series")] + [(m.value, m.label) for m in Modality if m != Modality.CT],
        required=False,
        help_text="For MRI: the modality of the chosen series.",
    )
    contrast = forms.ChoiceField(choices=ImportUploadForm.CONTRAST_CHOICES, required=False)

    def __init__(self, *args, importing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.importing = importing
        if not importing:
            for name in ("dataset", "kind"):
                self.fields[name].required = False

    def query(self, query_class):
        """The search in the submitted data (read before validation, so a search needs no dataset yet)."""
        data = self.data

        def date(name):
            field = self.fields[name]
            try:
                return field.clean(data.get(name, ""))
            except forms.ValidationError:
                return None

        accessions = [
            a.strip() for a in data.get("accessions", "").replace(",", "\n").splitlines() if a.strip()
        ]
        return query_class(
            study_uid=data.get("study_uid", "").strip(),
            accessions=tuple(accessions),
            date_from=date("date_from"),
            date_to=date("date_to"),
            modality=data.get("series_modality", ""),
        )

    def offer(self, found) -> None:
        self.fields["series"].choices = [
            (
                f"{s.study_uid}|{s.series_uid}",
                f"{s.study_date or 'no date'}, {s.modality} series {s.series_number or '?'}: "
                f"{s.description or 'no description'} ({s.instances} images)",
            )
            for s in found
        ]

    def clean(self):
        cleaned = super().clean()
        if self.importing and not cleaned.get("series"):
            raise forms.ValidationError("search, then choose at least one series")
        return cleaned

    def chosen_series(self) -> list[tuple[str, str]]:
        return [tuple(value.split("|", 1)) for value in self.cleaned_data.get("series", [])]

    def cleaned_contrast(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("contrast") or "")
