import dataclasses

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from imaging.constants import DEFAULT_CT_WINDOW, HU_MAX, HU_MIN, DatasetKind
from imaging.selectors import datasets_of_kind
from studies import ratelimit
from studies.design import (
    MAX_PRACTICE_ITEMS,
    MAX_STACK_K,
    MAX_WASHOUT_DAYS,
    RATING_SCALES,
    REPEATS,
    DesignError,
    StudyDesign,
    parse_presets,
)
from studies.models import ReaderProfile, Survey
from studies.policy import (
    FIELD_OF_VIEW_PER_SLICE,
    FIELD_OF_VIEW_RANGE_MM,
    FIELD_OF_VIEW_SURVEY,
    FIELDS_OF_VIEW,
    INT16,
    INTERPOLATIONS,
    MASKS,
    MATRIX_RANGE,
    WINDOW_LEVEL_RANGE,
    WINDOW_WIDTH_RANGE,
    DisplayPolicy,
    PolicyError,
)


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


class DisplayPolicyForm(forms.Form):
    """The fields of a :class:`DisplayPolicy`; `cleaned_data["display_policy"]` holds the value object.

    Every form that edits a survey's display policy (creating a survey, changing a draft) inherits these."""

    matrix_size = forms.IntegerField(
        min_value=MATRIX_RANGE[0], max_value=MATRIX_RANGE[1], initial=512, label="Display matrix (pixels)"
    )
    hu_min = forms.IntegerField(
        min_value=INT16[0], max_value=INT16[1], initial=HU_MIN, label="HU clip minimum"
    )
    hu_max = forms.IntegerField(
        min_value=INT16[0], max_value=INT16[1], initial=HU_MAX, label="HU clip maximum"
    )
    interpolation = forms.ChoiceField(choices=list(INTERPOLATIONS.items()), initial="bilinear")
    mask = forms.ChoiceField(choices=list(MASKS.items()), initial="body")
    field_of_view = forms.ChoiceField(
        choices=list(FIELDS_OF_VIEW.items()),
        initial=FIELD_OF_VIEW_SURVEY,
        widget=forms.RadioSelect,
        label="Field of view",
        help_text="One field of view keeps the physical scale of every item the same. Each slice's own field "
        "of view can leak scale: synthetic CT keeps the MRI's geometry, real CT the CT scanner's, and readers "
        "may tell them apart by size alone.",
    )
    field_of_view_mm = forms.FloatField(
        required=False,
        min_value=FIELD_OF_VIEW_RANGE_MM[0],
        max_value=FIELD_OF_VIEW_RANGE_MM[1],
        label="Field of view (mm)",
        help_text="With one field of view: empty chooses the real CT's median field of view, rounded up to "
        "10 mm. Every item is cropped or padded around the body's centre to this square.",
    )
    default_window_width = forms.IntegerField(
        min_value=WINDOW_WIDTH_RANGE[0], max_value=WINDOW_WIDTH_RANGE[1], initial=DEFAULT_CT_WINDOW.width
    )
    default_window_level = forms.IntegerField(
        min_value=WINDOW_LEVEL_RANGE[0], max_value=WINDOW_LEVEL_RANGE[1], initial=DEFAULT_CT_WINDOW.level
    )

    POLICY_FIELDS = tuple(f.name for f in dataclasses.fields(DisplayPolicy))

    @classmethod
    def initial_for(cls, policy: DisplayPolicy) -> dict:
        return policy.to_dict()

    def clean(self):
        cleaned = super().clean()
        if any(name in self.errors for name in self.POLICY_FIELDS):
            return cleaned
        values = {name: cleaned.get(name) for name in self.POLICY_FIELDS}
        if values["hu_min"] >= values["hu_max"]:
            raise forms.ValidationError("The HU clip minimum must be below the maximum.")
        if values["field_of_view"] == FIELD_OF_VIEW_PER_SLICE:
            values["field_of_view_mm"] = None
        try:
            cleaned["display_policy"] = DisplayPolicy(**values)
        except PolicyError as exc:
            raise forms.ValidationError(f"Display policy: {exc}.") from None
        return cleaned


def presets_text(design: StudyDesign) -> str:
    return "\n".join(f"{p.name} {p.width} {p.level}" for p in design.window_presets)


class StudyDesignForm(forms.Form):
    """The options of a :class:`StudyDesign`; `cleaned_data["design"]` holds the value object."""

    rating = forms.ChoiceField(
        choices=list(RATING_SCALES.items()),
        initial="none",
        required=False,
        label="Confidence rating",
        help_text="How sure the reader is that the image is synthetic, asked on every item.",
    )
    choice_from_rating = forms.BooleanField(
        required=False,
        label="Derive the choice from the rating",
        help_text="Readers rate only; below the scale's midpoint counts as real, above as synthetic, the "
        "midpoint as indeterminable. Needs a rating.",
    )
    window_presets = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        initial=presets_text(StudyDesign()),
        required=False,
        label="Window presets",
        help_text="One per line: name width level (HU), keys 1..9 in this order; empty: the five CT presets.",
    )
    practice_items = forms.IntegerField(
        min_value=0,
        max_value=MAX_PRACTICE_ITEMS,
        initial=0,
        required=False,
        label="Practice items",
        help_text="Read first, each followed by feedback; drawn from slices that are not test items; never in "
        "the analysis. Fixed at creation.",
    )

    stack_k = forms.TypedChoiceField(
        choices=[(0, "Single slice")]
        + [(k, f"Stack of {2 * k + 1} slices (k = {k})") for k in range(1, MAX_STACK_K + 1)],
        coerce=int,
        empty_value=0,
        initial=0,
        required=False,
        label="Stack reading",
        help_text="Each item shows its slice with k neighbouring slices of the same volume on each side; the "
        "reader scrolls through them and answers for the centre slice. Items are chosen with room for the "
        "neighbours in both pools. Fixed at creation.",
    )
    repeat = forms.ChoiceField(
        choices=list(REPEATS.items()), initial="off", required=False, label="Repeat reading"
    )
    repeat_items = forms.IntegerField(
        min_value=0,
        required=False,
        initial=0,
        label="Repeated items (m)",
        help_text="With a repeated subset: how many items each reader reads again (half of each truth).",
    )
    washout_days = forms.IntegerField(
        min_value=0,
        max_value=MAX_WASHOUT_DAYS,
        required=False,
        initial=0,
        label="Wash-out (days)",
        help_text="Days between the end of a reader's first reading and their second; enforced by the server.",
    )

    DESIGN_FIELDS = (
        "rating",
        "choice_from_rating",
        "window_presets",
        "practice_items",
        "stack_k",
        "repeat",
        "repeat_items",
        "washout_days",
    )

    @classmethod
    def design_initial(cls, design: StudyDesign) -> dict:
        return {**design.to_dict(), "window_presets": presets_text(design)}

    def clean(self):
        cleaned = super().clean()
        if any(name in self.errors for name in self.DESIGN_FIELDS):
            return cleaned
        try:
            presets = parse_presets(cleaned.get("window_presets") or "")
            cleaned["design"] = StudyDesign(
                rating=cleaned.get("rating") or "none",
                choice_from_rating=bool(cleaned.get("choice_from_rating")),
                window_presets=presets or StudyDesign().window_presets,
                practice_items=cleaned.get("practice_items") or 0,
                repeat=cleaned.get("repeat") or "off",
                repeat_items=cleaned.get("repeat_items") or 0,
                washout_days=cleaned.get("washout_days") or 0,
                stack_k=cleaned.get("stack_k") or 0,
            )
        except DesignError as exc:
            raise forms.ValidationError(f"Study design: {exc}.") from None
        return cleaned


class SurveyCreateForm(StudyDesignForm, DisplayPolicyForm):
    """What the admin gives to create a survey; the items are selected and rendered on save."""

    name = forms.CharField(max_length=128, help_text="For the study team; readers see the reader title.")
    reader_title = forms.CharField(
        max_length=128, initial="Reader study", help_text="The title readers see. Never name the model."
    )
    model_dataset = forms.ModelChoiceField(
        queryset=datasets_of_kind(DatasetKind.SYNTHETIC_CT),
        label="Model (synthetic CT dataset)",
    )
    model_alias = forms.CharField(
        max_length=64, required=False, help_text="Short name for reports; the dataset name when empty."
    )
    real_dataset = forms.ModelChoiceField(
        queryset=datasets_of_kind(DatasetKind.REAL_CT),
        label="Real CT dataset",
        help_text="Must have the same contrast kind as the model's output.",
    )
    per_side = forms.IntegerField(
        min_value=1, max_value=500, initial=10, label="Items per side", help_text="n real and n synthetic."
    )
    seed = forms.IntegerField(min_value=0, max_value=2**63 - 1, initial=1)
    allow_going_back = forms.BooleanField(required=False)
    instructions = forms.CharField(widget=forms.Textarea, required=False)

    field_order = [
        "name",
        "reader_title",
        "model_dataset",
        "model_alias",
        "real_dataset",
        "per_side",
        "seed",
        "allow_going_back",
        "instructions",
        *StudyDesignForm.DESIGN_FIELDS,
        *DisplayPolicyForm.POLICY_FIELDS,
    ]


class SurveyDraftForm(StudyDesignForm, DisplayPolicyForm, forms.ModelForm):
    """A draft survey's reader-facing settings, study design and display policy (the admin's change page)."""

    class Meta:
        model = Survey
        fields = ["reader_title", "instructions", "allow_going_back"]

    def __init__(self, *args, instance=None, **kwargs):
        if instance is not None and instance.display_policy is not None:
            kwargs["initial"] = {**self.initial_for(instance.display_policy), **kwargs.get("initial", {})}
        if instance is not None and instance.design is not None:
            kwargs["initial"] = {**self.design_initial(instance.design), **kwargs.get("initial", {})}
        super().__init__(*args, instance=instance, **kwargs)


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


# The same words as the readers' sign-in page (templates/studies/login.html).
LOGIN_LIMITED = _("Too many failed sign-in attempts. Wait a few minutes and try again.")


class RateLimitedAdminLoginForm(AdminAuthenticationForm):
    """The admin's sign-in form, saying so when the client or the username is rate limited (instead of the
    usual "enter a correct username and password", which would send a person on guessing)."""

    def clean(self):
        if self.request is not None and ratelimit.login_is_limited(
            self.request, self.cleaned_data.get("username")
        ):
            raise forms.ValidationError(LOGIN_LIMITED, code="rate_limited")
        return super().clean()
