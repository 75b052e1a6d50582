from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from imaging.constants import DEFAULT_CT_WINDOW, HU_MAX, HU_MIN, DatasetKind
from imaging.selectors import dataset_by_id, datasets_visible_to
from projects.models import Project, Role
from projects.selectors import projects_of_user
from studies import ratelimit
from studies.design import (
    DEFAULT_SLAB_SPACING_MM,
    EXPOSURES,
    MAX_CATCH_ITEMS,
    MAX_PRACTICE_ITEMS,
    MAX_QC_MEDIAN_SECONDS,
    MAX_STACK_K,
    MAX_WASHOUT_DAYS,
    RATING_SCALES,
    REPEATS,
    SLAB_THICKNESS_RANGE_MM,
    TASKS,
    StudyDesign,
)
from studies.models import ReaderProfile, Survey
from studies.policy import (
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
)
from studies.survey_input import (
    DEFAULT_READER_TITLE,
    DESIGN_OPTIONS,
    MAX_ITEMS_PER_SIDE,
    MAX_SEED,
    POLICY_OPTIONS,
    SurveyInputError,
    parse_display_policy,
    parse_study_design,
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


def number_input(low=None, high=None, step=None) -> forms.NumberInput:
    """A number field's widget; the browser's hints only: the values are checked by studies.survey_input."""
    attrs = {
        name: value for name, value in (("min", low), ("max", high), ("step", step)) if value is not None
    }
    return forms.NumberInput(attrs=attrs)


def text_field(**kwargs) -> forms.CharField:
    """A field whose value goes to studies.survey_input as it was typed (empty: the option's default)."""
    return forms.CharField(required=False, **kwargs)


def choice_field(choices, **kwargs) -> forms.CharField:
    return text_field(widget=forms.Select(choices=list(choices)), **kwargs)


def given(cleaned: dict, names) -> dict:
    """The options a form gives: every field that is not empty, as typed."""
    return {name: cleaned[name] for name in names if cleaned.get(name) not in (None, "")}


class DisplayPolicyForm(forms.Form):
    """The fields of a :class:`DisplayPolicy`: `policy_values()` gives them to studies.survey_input, where they are
    checked as every other door's are. Every form that edits a survey's display policy inherits these."""

    matrix_size = text_field(initial=512, widget=number_input(*MATRIX_RANGE), label="Display matrix (pixels)")
    hu_min = text_field(initial=HU_MIN, widget=number_input(*INT16), label="HU clip minimum")
    hu_max = text_field(initial=HU_MAX, widget=number_input(*INT16), label="HU clip maximum")
    interpolation = choice_field(INTERPOLATIONS.items(), initial="bilinear")
    mask = choice_field(MASKS.items(), initial="body")
    field_of_view = text_field(
        widget=forms.RadioSelect(choices=list(FIELDS_OF_VIEW.items())),
        initial=FIELD_OF_VIEW_SURVEY,
        label="Field of view",
        help_text="One field of view keeps the physical scale of every item the same. Each slice's own field "
        "of view can leak scale: synthetic CT keeps the MRI's geometry, real CT the CT scanner's, and readers "
        "may tell them apart by size alone.",
    )
    field_of_view_mm = text_field(
        widget=number_input(*FIELD_OF_VIEW_RANGE_MM, step="any"),
        label="Field of view (mm)",
        help_text="With one field of view: empty chooses the real CT's median field of view, rounded up to "
        "10 mm. Every item is cropped or padded around the body's centre to this square. Leave it empty "
        "with each slice's own field of view.",
    )
    default_window_width = text_field(
        initial=DEFAULT_CT_WINDOW.width, widget=number_input(*WINDOW_WIDTH_RANGE)
    )
    default_window_level = text_field(
        initial=DEFAULT_CT_WINDOW.level, widget=number_input(*WINDOW_LEVEL_RANGE)
    )

    POLICY_FIELDS = POLICY_OPTIONS

    @classmethod
    def initial_for(cls, policy: DisplayPolicy) -> dict:
        return policy.to_dict()

    def policy_values(self) -> dict:
        return given(self.cleaned_data, self.POLICY_FIELDS)


def presets_text(design: StudyDesign) -> str:
    return "\n".join(f"{p.name} {p.width} {p.level}" for p in design.window_presets)


class StudyDesignForm(forms.Form):
    """The options of a :class:`StudyDesign`: `design_values()` gives them to studies.survey_input."""

    rating = choice_field(
        RATING_SCALES.items(),
        initial="none",
        label="Confidence rating",
        help_text="How sure the reader is that the image is synthetic, asked on every item.",
    )
    choice_from_rating = forms.BooleanField(
        required=False,
        label="Derive the choice from the rating",
        help_text="Readers rate only; below the scale's midpoint counts as real, above as synthetic, the "
        "midpoint as indeterminable. Needs a rating.",
    )
    # A choice rather than a checkbox, so that a form without it keeps the default (true).
    confirm_contradictions = choice_field(
        [("true", "Ask the reader to confirm"), ("false", "Save it as given")],
        initial="true",
        label="A rating against the answer",
        help_text="With a rating and an asked choice: a rating that leans against the chosen answer (4 with "
        "Indeterminable or Real) is confirmed by the reader before it is saved.",
    )
    window_presets = text_field(
        widget=forms.Textarea(attrs={"rows": 5}),
        initial=presets_text(StudyDesign()),
        label="Window presets",
        help_text="One per line: name width level (HU), keys 1..9 in this order; empty: the five CT presets.",
    )
    practice_items = text_field(
        initial=0,
        widget=number_input(0, MAX_PRACTICE_ITEMS),
        label="Practice items",
        help_text="Read first, each followed by feedback; drawn from slices that are not test items; never in "
        "the analysis. Fixed at creation.",
    )
    stack_k = choice_field(
        [(0, "Single slice")]
        + [(k, f"Stack of {2 * k + 1} slices (k = {k})") for k in range(1, MAX_STACK_K + 1)],
        initial=0,
        label="Stack reading",
        help_text="Each item shows its slice with k neighbouring slices of the same volume on each side; the "
        "reader scrolls through them and answers for the centre slice. Items are chosen with room for the "
        "neighbours in both pools. Fixed at creation.",
    )
    exposure = choice_field(
        EXPOSURES.items(),
        initial="off",
        label="Time-limited exposure",
        help_text="Each image is shown for an exposure time, then a noise mask, then the question: a fixed time, "
        "or a 1-up/n-down staircase per reader (Levitt 1971). One slice per item; no going back.",
    )
    exposure_ms = text_field(
        initial=0,
        widget=number_input(0),
        label="Exposure (ms)",
        help_text="Fixed: the exposure; staircase: its start.",
    )
    exposure_step_ms = text_field(
        initial=0,
        widget=number_input(0),
        label="Staircase step (ms)",
        help_text="A linear step; or give a step in percent.",
    )
    exposure_step_percent = text_field(
        initial=0,
        widget=number_input(0),
        label="Staircase step (%)",
        help_text="A multiplicative step (x or / by 1 + p/100).",
    )
    exposure_min_ms = text_field(
        initial=0, widget=number_input(0), label="Shortest exposure (ms)", help_text=""
    )
    exposure_max_ms = text_field(
        initial=0, widget=number_input(0), label="Longest exposure (ms)", help_text=""
    )
    exposure_up = text_field(
        initial=0,
        widget=number_input(0),
        label="Up after wrong answers in a row",
        help_text="1 in 1-up/3-down.",
    )
    exposure_down = text_field(
        initial=0,
        widget=number_input(0),
        label="Down after correct answers in a row",
        help_text="3 in 1-up/3-down (converges on 79.4 % correct).",
    )
    exposure_reversals = text_field(
        initial=0,
        widget=number_input(0),
        label="Reversals averaged",
        help_text="A reader's threshold: the mean of the last this many reversals.",
    )
    slab_thickness_mm = text_field(
        initial=0,
        widget=number_input(0, SLAB_THICKNESS_RANGE_MM[1]),
        label="Slab thickness (mm)",
        help_text="0: no slab. Otherwise each item is a slab this many mm thick from one volume, resampled onto "
        "one grid and read in axial, coronal and sagittal views; items are chosen where both pools' volumes cover "
        "the slab. Fixed at creation.",
    )
    slab_spacing_mm = text_field(
        initial=DEFAULT_SLAB_SPACING_MM,
        label="Slab slice spacing (mm)",
        help_text="The z spacing every slab is resampled at; the thickness must be an even number of it.",
    )
    task = choice_field(
        TASKS.items(),
        initial="single",
        label="Task",
        help_text="2afc: each screen shows a real and a synthetic slice of the same axial layer side by side and "
        "asks which one is real (one slice each, unlimited time, no practice, no repeat). Fixed at creation.",
    )
    repeat = choice_field(REPEATS.items(), initial="off", label="Repeat reading")
    repeat_items = text_field(
        initial=0,
        widget=number_input(0),
        label="Repeated items (m)",
        help_text="With a repeated subset: how many items each reader reads again (half of each truth).",
    )
    washout_days = text_field(
        initial=0,
        widget=number_input(0, MAX_WASHOUT_DAYS),
        label="Wash-out (days)",
        help_text="Days between the end of a reader's first reading and their second; enforced by the server.",
    )
    # Catch trials and reader quality control (studies.catch, studies.quality).
    catch_items = text_field(
        initial=0,
        widget=number_input(0, MAX_CATCH_ITEMS),
        label="Catch items",
        help_text="Synthetic slices with a plainly visible striped artefact, mixed into every reader's order; "
        "the answer is synthetic. Never in the analysis, for reader quality control only. Fixed at creation.",
    )
    qc_min_catch_percent = text_field(
        initial=0,
        widget=number_input(0, 100),
        label="Exclude readers below this catch accuracy (%)",
        help_text="0: no rule. Frozen when the survey opens, like every rule below.",
    )
    qc_min_median_seconds = text_field(
        initial=0,
        widget=number_input(0, MAX_QC_MEDIAN_SECONDS, "any"),
        label="Exclude readers whose median time per item is below (s)",
        help_text="0: no rule.",
    )
    qc_max_run = text_field(
        initial=0,
        widget=number_input(0),
        label="Exclude readers with more identical answers in a row than",
        help_text="0: no rule; otherwise at least 2.",
    )

    DESIGN_FIELDS = DESIGN_OPTIONS

    @classmethod
    def design_initial(cls, design: StudyDesign) -> dict:
        return {
            **design.to_dict(),
            "window_presets": presets_text(design),
            "confirm_contradictions": str(design.confirm_contradictions).lower(),
        }

    def design_values(self) -> dict:
        values = given(self.cleaned_data, self.DESIGN_FIELDS)
        if not self.cleaned_data.get("choice_from_rating"):
            values.pop("choice_from_rating", None)
        return values


class SurveyCreateForm(StudyDesignForm, DisplayPolicyForm):
    """What the admin gives to create a survey. The fields only carry what was typed: `survey_values()` gives it
    to `studies.services.create_survey`, which checks it as it checks the command's and the API's options."""

    name = text_field(help_text="For the study team; readers see the reader title.")
    project = forms.ModelChoiceField(
        queryset=Project.objects.none(),
        required=False,
        help_text="The project that owns the survey; only its members see it. Empty: your only project.",
    )
    reader_title = text_field(
        initial=DEFAULT_READER_TITLE, help_text="The title readers see. Never name the model."
    )
    model_dataset = choice_field((), label="Model (synthetic CT dataset)")
    model_alias = text_field(help_text="Short name for reports; the dataset name when empty.")
    real_dataset = choice_field(
        (), label="Real CT dataset", help_text="Must have the same contrast kind as the model's output."
    )
    per_side = text_field(
        initial=10,
        widget=number_input(1, MAX_ITEMS_PER_SIDE),
        label="Items per side",
        help_text="n real and n synthetic.",
    )
    seed = text_field(initial=1, widget=number_input(0, MAX_SEED))
    allow_going_back = forms.BooleanField(required=False)
    instructions = text_field(widget=forms.Textarea)
    reader_title_it = text_field(
        label="Reader title (Italian)", help_text="Empty: Italian pages show the title."
    )
    instructions_it = text_field(
        widget=forms.Textarea,
        label="Instructions (Italian)",
        help_text="Empty: Italian pages show the instructions.",
    )

    field_order = [
        "name",
        "project",
        "reader_title",
        "model_dataset",
        "model_alias",
        "real_dataset",
        "per_side",
        "seed",
        "allow_going_back",
        "instructions",
        "reader_title_it",
        "instructions_it",
        *StudyDesignForm.DESIGN_FIELDS,
        *DisplayPolicyForm.POLICY_FIELDS,
    ]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The projects where the user runs surveys, and the datasets of the projects they see.
        projects = projects_of_user(user, at_least=Role.STUDY_ADMIN).order_by("name")
        self.fields["project"].queryset = projects
        if len(projects) == 1:
            self.fields["project"].initial = projects[0].pk
        # Datasets are offered by id (the planning panel asks for a pilot of the same datasets by id).
        for name, kind in (
            ("model_dataset", DatasetKind.SYNTHETIC_CT),
            ("real_dataset", DatasetKind.REAL_CT),
        ):
            offered = datasets_visible_to(user).filter(kind=kind).order_by("name")
            choices = [("", "---------")] + [(d.pk, d.name) for d in offered]
            self.fields[name].widget.choices = choices

    def survey_values(self) -> dict:
        """The options as studies.survey_input names them; a dataset by its name."""
        data = self.cleaned_data
        values = given(
            data,
            (
                "name",
                "reader_title",
                "model_alias",
                "seed",
                "instructions",
                "reader_title_it",
                "instructions_it",
            ),
        )
        values["name"] = data.get("name", "")
        values["reader_title"] = data.get("reader_title", "")
        values["allow_going_back"] = bool(data.get("allow_going_back"))
        for option, field_name in (("model", "model_dataset"), ("real_dataset", "real_dataset")):
            chosen = data.get(field_name, "")
            dataset = dataset_by_id(int(chosen)) if chosen.isdigit() and len(chosen) < 19 else None
            values[option] = dataset.name if dataset is not None else chosen
        if data.get("per_side"):
            values["real"] = values["synthetic"] = data["per_side"]
        return {**values, "display_policy": self.policy_values(), "design": self.design_values()}


class SurveyDraftForm(StudyDesignForm, DisplayPolicyForm, forms.ModelForm):
    """A draft survey's reader-facing settings, study design and display policy (the admin's change page); the
    policy and the design are checked by studies.survey_input, as when a survey is created."""

    class Meta:
        model = Survey
        fields = ["reader_title", "instructions", "reader_title_it", "instructions_it", "allow_going_back"]

    def __init__(self, *args, instance=None, **kwargs):
        if instance is not None and instance.display_policy is not None:
            kwargs["initial"] = {**self.initial_for(instance.display_policy), **kwargs.get("initial", {})}
        if instance is not None and instance.design is not None:
            kwargs["initial"] = {**self.design_initial(instance.design), **kwargs.get("initial", {})}
        super().__init__(*args, instance=instance, **kwargs)

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["display_policy"] = parse_display_policy(self.policy_values())
            cleaned["design"] = parse_study_design(self.design_values())
        except SurveyInputError as exc:
            raise forms.ValidationError(str(exc)) from None
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
