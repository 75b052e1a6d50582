from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from imaging.models import Dataset
from studies.models import Interpolation, MaskPolicy, ReaderProfile


class ReaderSignupForm(UserCreationForm):
    """A new reader account, created together with the use of an invitation."""

    email = forms.EmailField(
        label=_("E-mail (optional, for reminders)"),
        required=False,
        max_length=254,
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


class ReaderProfileForm(forms.ModelForm):
    class Meta:
        model = ReaderProfile
        fields = ("specialty", "years_of_experience")
        labels = {"specialty": _("Specialty"), "years_of_experience": _("Years of experience")}
        widgets = {
            "specialty": forms.Select(attrs={"data-testid": "profile-specialty"}),
            "years_of_experience": forms.NumberInput(
                attrs={"data-testid": "profile-years", "min": 0, "max": 70}
            ),
        }

    def clean_years_of_experience(self):
        years = self.cleaned_data.get("years_of_experience")
        if years is not None and not 0 <= years <= 70:
            raise forms.ValidationError(_("Enter a number of years between 0 and 70."))
        return years


class SurveyCreateForm(forms.Form):
    """What the admin gives to create a survey; the items are selected and rendered on save."""

    name = forms.CharField(max_length=128, help_text="For the study team; readers see the reader title.")
    reader_title = forms.CharField(
        max_length=128, initial="Reader study", help_text="The title readers see. Never name the model."
    )
    model_dataset = forms.ModelChoiceField(
        queryset=Dataset.objects.filter(kind=Dataset.Kind.SYNTHETIC_CT),
        label="Model (synthetic CT dataset)",
    )
    model_alias = forms.CharField(
        max_length=64, required=False, help_text="Short name for reports; the dataset name when empty."
    )
    real_dataset = forms.ModelChoiceField(
        queryset=Dataset.objects.filter(kind=Dataset.Kind.REAL_CT),
        label="Real CT dataset",
        help_text="Must have the same contrast kind as the model's output.",
    )
    per_side = forms.IntegerField(
        min_value=1, max_value=500, initial=10, label="Items per side", help_text="n real and n synthetic."
    )
    seed = forms.IntegerField(min_value=0, max_value=2**63 - 1, initial=1)
    allow_going_back = forms.BooleanField(required=False)
    instructions = forms.CharField(widget=forms.Textarea, required=False)
    matrix_size = forms.IntegerField(min_value=16, max_value=2048, initial=512)
    hu_min = forms.IntegerField(min_value=-32768, max_value=32767, initial=-1024, label="HU clip minimum")
    hu_max = forms.IntegerField(min_value=-32768, max_value=32767, initial=3071, label="HU clip maximum")
    interpolation = forms.ChoiceField(choices=Interpolation.choices, initial=Interpolation.BILINEAR)
    mask = forms.ChoiceField(choices=MaskPolicy.choices, initial=MaskPolicy.BODY)
    field_of_view_mm = forms.FloatField(
        required=False, min_value=1, max_value=2000, label="Field of view (mm)"
    )
    default_window_width = forms.IntegerField(min_value=1, max_value=5000, initial=400)
    default_window_level = forms.IntegerField(min_value=-2000, max_value=4000, initial=40)

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("hu_min"), cleaned.get("hu_max")
        if low is not None and high is not None and low >= high:
            raise forms.ValidationError("The HU clip minimum must be below the maximum.")
        return cleaned


class InvitationsForm(forms.Form):
    count = forms.IntegerField(
        min_value=0, max_value=500, initial=1, required=False, label="Links without e-mail"
    )
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="One address per line; each gets its own invitation by e-mail.",
    )
    label = forms.CharField(max_length=128, required=False)
    expires_in_days = forms.IntegerField(min_value=1, max_value=365, initial=30)

    def clean_emails(self):
        lines = [line.strip() for line in self.cleaned_data.get("emails", "").splitlines() if line.strip()]
        field = forms.EmailField()
        for line in lines:
            try:
                field.clean(line)
            except forms.ValidationError:
                raise forms.ValidationError(f"{line!r} is not an e-mail address.") from None
        return lines

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("count") or 0) and not cleaned.get("emails"):
            raise forms.ValidationError("Ask for at least one link or give at least one e-mail address.")
        return cleaned
