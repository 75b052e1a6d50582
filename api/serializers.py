"""What the API sends and accepts. Output fields are listed one by one: nothing reaches a client by default.

Nothing here names an item's truth: items are never listed, and results (which do) are served as the same
downloads the report pages serve, to those who may read reports."""

from rest_framework import serializers

from imaging.constants import DEFAULT_CT_WINDOW, HU_MAX, HU_MIN
from jobs.services import progress_of, status_line
from projects.access import RUN_SURVEYS
from reports.selectors import reader_pseudonym
from studies.design import (
    EXPOSURES,
    MAX_CATCH_ITEMS,
    MAX_PRACTICE_ITEMS,
    MAX_QC_MEDIAN_SECONDS,
    MAX_STACK_K,
    MAX_WASHOUT_DAYS,
    RATING_SCALES,
    REPEATS,
    TASKS,
)
from studies.policy import FIELD_OF_VIEW_SURVEY, FIELDS_OF_VIEW, INTERPOLATIONS, MASKS
from studies.selectors import survey_overview
from studies.services import invitation_url
from studies.survey_input import (
    ALIAS_CHARS,
    DEFAULT_READER_TITLE,
    INSTRUCTIONS_CHARS,
    MAX_ITEMS_PER_SIDE,
    NAME_CHARS,
)

# --- Reading -------------------------------------------------------------------------------------------------


class DatasetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    contrast_enhanced = serializers.BooleanField(allow_null=True)
    source = serializers.CharField()
    volume_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class VolumeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    uid = serializers.UUIDField()
    dataset = serializers.IntegerField(source="dataset_id")
    dataset_name = serializers.CharField(source="dataset.name")
    patient = serializers.CharField()
    modality = serializers.CharField()
    source_format = serializers.CharField()
    rows = serializers.IntegerField()
    columns = serializers.IntegerField()
    row_spacing_mm = serializers.FloatField()
    column_spacing_mm = serializers.FloatField()
    slice_spacing_mm = serializers.FloatField(allow_null=True)
    slice_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class JobSerializer(serializers.Serializer):
    """What every job kind shows: status, progress and the one line the admin and `--wait` print."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="status_label")
    finished = serializers.BooleanField(source="is_finished")
    line = serializers.SerializerMethodField()
    message = serializers.CharField()
    error = serializers.CharField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    unit = serializers.CharField(source="progress_unit")
    percent = serializers.SerializerMethodField()
    attempts = serializers.IntegerField()
    result = serializers.JSONField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_line(self, job) -> str:
        return status_line(job)

    def get_percent(self, job) -> float:
        return round(progress_of(job).percent, 1)


class ImportJobSerializer(JobSerializer):
    dataset_name = serializers.CharField()
    kind = serializers.CharField()
    modality = serializers.CharField()
    contrast_enhanced = serializers.BooleanField(allow_null=True)
    volumes_imported = serializers.IntegerField()
    volumes_skipped = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))


class CheckpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    architecture = serializers.CharField()
    architecture_config = serializers.JSONField()
    input_modalities = serializers.ListField(child=serializers.CharField())
    normalisation = serializers.CharField()
    input_size = serializers.IntegerField()
    hu_min = serializers.IntegerField()
    hu_max = serializers.IntegerField()
    contrast_enhanced = serializers.BooleanField()
    sha256 = serializers.CharField()
    parameter_count = serializers.IntegerField()
    provenance = serializers.JSONField()
    created_at = serializers.DateTimeField()


class GenerationJobSerializer(JobSerializer):
    checkpoint = serializers.CharField(source="checkpoint.name")
    mri_dataset = serializers.CharField(source="mri_dataset.name")
    output_dataset_name = serializers.CharField()
    output_dataset = serializers.IntegerField(source="output_dataset_id", allow_null=True)
    z_tolerance_mm = serializers.FloatField(allow_null=True)
    unpaired_count = serializers.IntegerField()
    device = serializers.CharField()


class MetricsJobSerializer(JobSerializer):
    model = serializers.CharField(source="model.name")
    real_dataset = serializers.CharField(source="real_dataset.name")
    max_per_layer = serializers.IntegerField(allow_null=True)
    seed = serializers.IntegerField()
    feature_metrics_note = serializers.CharField()


class ReportJobSerializer(JobSerializer):
    survey_ids = serializers.ListField(child=serializers.IntegerField())
    title = serializers.CharField()
    answer_count = serializers.IntegerField()
    revision_count = serializers.IntegerField()
    has_pdf = serializers.SerializerMethodField()

    def get_has_pdf(self, job) -> bool:
        return bool(job.pdf)


class BlindingAuditSerializer(JobSerializer):
    survey = serializers.IntegerField(source="survey_id")
    open_when_passed = serializers.BooleanField()
    passed = serializers.BooleanField(allow_null=True)
    report = serializers.CharField()


class SurveySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    project = serializers.CharField(source="project.name")
    status = serializers.CharField()
    model = serializers.CharField(source="model_dataset.name")
    model_alias = serializers.CharField()
    real_dataset = serializers.CharField(source="real_dataset.name")
    real_count = serializers.IntegerField()
    synthetic_count = serializers.IntegerField()
    seed = serializers.IntegerField()
    reader_title = serializers.CharField()
    instructions = serializers.CharField()
    reader_title_it = serializers.CharField()
    instructions_it = serializers.CharField()
    allow_going_back = serializers.BooleanField()
    display_policy = serializers.SerializerMethodField()
    design = serializers.SerializerMethodField()
    reader_count = serializers.IntegerField(required=False)
    finished_count = serializers.IntegerField(required=False)
    created_at = serializers.DateTimeField()
    opened_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    last_audit_at = serializers.DateTimeField(allow_null=True)
    last_audit_passed = serializers.BooleanField(allow_null=True)

    def get_display_policy(self, survey) -> dict:
        return survey.display_policy.to_dict() if survey.display_policy is not None else {}

    def get_design(self, survey) -> dict:
        return survey.design.to_dict()


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    survey = serializers.IntegerField(source="survey_id")
    url = serializers.SerializerMethodField()
    state = serializers.CharField()
    email = serializers.CharField()
    label = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)

    def get_url(self, invitation) -> str | None:
        """The join link, for study admins of the survey's project only: anyone holding it can join the survey as a
        reader."""
        request = self.context.get("request")
        if request is None or not request.user.has_perm(RUN_SURVEYS, invitation.survey.project):
            return None
        return invitation_url(invitation)


class ReaderProgressSerializer(serializers.Serializer):
    reader = serializers.CharField()
    answered = serializers.IntegerField()
    total = serializers.IntegerField()
    state = serializers.CharField()


class SurveyProgressSerializer(serializers.Serializer):
    """How far the readers of a survey got: counts only (no answers, no truth)."""

    survey = serializers.IntegerField()
    items = serializers.IntegerField()
    readers = serializers.IntegerField()
    not_started = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    finished = serializers.IntegerField()
    answers = serializers.IntegerField()
    per_reader = ReaderProgressSerializer(many=True)


def survey_progress_counts(survey) -> dict:
    overview = survey_overview(survey)
    counts = overview.counts
    return {
        "survey": survey.pk,
        "items": survey.item_count,
        "readers": len(overview.rows),
        "not_started": counts["not_started"],
        "in_progress": counts["in_progress"],
        "finished": counts["finished"],
        "answers": overview.answers,
        "per_reader": [
            {
                "reader": reader_pseudonym(row.assignment.reader_id),
                "answered": row.answered,
                "total": row.total,
                "state": row.state,
            }
            for row in overview.rows
        ],
    }


class ProjectRoleSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The project's name")
    role = serializers.CharField(help_text="owner, study_admin, researcher or reader")


class UserSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField(), help_text="The site-wide groups held")
    projects = ProjectRoleSerializer(many=True, help_text="The projects the account is a member of")
    site_superuser = serializers.BooleanField(help_text="Sees every project's rows")


# --- Writing -------------------------------------------------------------------------------------------------


class ImportRequest(serializers.Serializer):
    dataset = serializers.CharField(max_length=128)
    kind = serializers.ChoiceField(choices=["ct", "sct", "mr"])
    modality = serializers.ChoiceField(choices=["t1_in", "t1_out", "t2"], required=False, allow_blank=True)
    contrast = serializers.BooleanField(required=False, allow_null=True, default=None)
    patient = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=128,
        help_text="A name for the patient of NIfTI files (only its pseudonym is kept); "
        "without it each NIfTI file is a patient of its own.",
    )
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False), allow_empty=False, max_length=5000
    )


class CheckpointRequest(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)
    name = serializers.CharField(max_length=200)
    inputs = serializers.CharField(help_text="MRI modalities in channel order: t1_in[,t1_out[,t2]]")
    contrast = serializers.BooleanField(required=True, allow_null=False)
    ct_range = serializers.CharField(
        required=False, help_text="HU that tanh -1 and +1 map to, e.g. -1024,3071"
    )
    arch = serializers.CharField(required=False, default="auto")
    normalisation = serializers.CharField(required=False)
    input_size = serializers.IntegerField(required=False, default=256, min_value=4, max_value=4096)
    source = serializers.CharField(required=False, default="", allow_blank=True)


class GenerationRequest(serializers.Serializer):
    checkpoint = serializers.CharField(help_text="Checkpoint name")
    mri_dataset = serializers.CharField(help_text="Name of the MRI dataset")
    output_dataset_name = serializers.CharField(required=False, allow_blank=True, max_length=128)
    z_tolerance_mm = serializers.FloatField(required=False, allow_null=True, default=None)


class MetricsRequest(serializers.Serializer):
    model = serializers.CharField(help_text="Name of the synthetic CT dataset")
    real_dataset = serializers.CharField(help_text="Name of the real CT dataset")
    max_per_layer = serializers.IntegerField(required=False, allow_null=True, default=None)
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**31 - 1)


class ReportRequest(serializers.Serializer):
    surveys = serializers.ListField(child=serializers.CharField(), allow_empty=False, max_length=100)
    experience_bands = serializers.ListField(
        child=serializers.FloatField(min_value=0),
        required=False,
        allow_empty=True,
        max_length=10,
        help_text="Edges (years, increasing) of the readers' experience bands; default [5, 15]",
    )


class DisplayPolicyRequest(serializers.Serializer):
    """A survey's display policy (studies.policy.DisplayPolicy); every field optional, the defaults shown."""

    matrix_size = serializers.IntegerField(required=False, default=512, help_text="Display matrix (pixels)")
    hu_min = serializers.IntegerField(required=False, default=HU_MIN, help_text="HU clip minimum")
    hu_max = serializers.IntegerField(required=False, default=HU_MAX, help_text="HU clip maximum")
    interpolation = serializers.ChoiceField(choices=list(INTERPOLATIONS), required=False, default="bilinear")
    mask = serializers.ChoiceField(choices=list(MASKS), required=False, default="body")
    field_of_view = serializers.ChoiceField(
        choices=list(FIELDS_OF_VIEW),
        required=False,
        default=FIELD_OF_VIEW_SURVEY,
        help_text="survey: one field of view for every item; per_slice: each slice's own (can leak scale)",
    )
    field_of_view_mm = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        help_text="With one field of view; null: the real CT's median, rounded up to 10 mm",
    )
    default_window_width = serializers.IntegerField(required=False, default=DEFAULT_CT_WINDOW.width)
    default_window_level = serializers.IntegerField(required=False, default=DEFAULT_CT_WINDOW.level)


class WindowPresetRequest(serializers.Serializer):
    name = serializers.CharField(max_length=32)
    width = serializers.IntegerField(help_text="HU")
    level = serializers.IntegerField(help_text="HU")


class StudyDesignRequest(serializers.Serializer):
    """A survey's study design (studies.design.StudyDesign); every field optional, the defaults shown."""

    rating = serializers.ChoiceField(
        choices=list(RATING_SCALES),
        required=False,
        default="none",
        help_text="Confidence rating on every item",
    )
    choice_from_rating = serializers.BooleanField(
        required=False, default=False, help_text="Derive real/synthetic/indeterminable from the rating"
    )
    window_presets = WindowPresetRequest(
        many=True,
        required=False,
        help_text='Keys 1..9 in this order; each also as [name, width, level] or "name width level"; '
        "default: the five CT presets",
    )
    practice_items = serializers.IntegerField(
        required=False,
        default=0,
        help_text=f"Practice items read first with feedback, 0..{MAX_PRACTICE_ITEMS}",
    )
    repeat = serializers.ChoiceField(choices=list(REPEATS), required=False, default="off")
    repeat_items = serializers.IntegerField(
        required=False, default=0, help_text="With repeat = subset: items read again"
    )
    washout_days = serializers.IntegerField(
        required=False, default=0, help_text=f"Days before the second reading opens, 0..{MAX_WASHOUT_DAYS}"
    )
    stack_k = serializers.IntegerField(
        required=False, default=0, help_text=f"Stack reading: 2k+1 slices per item, k = 0..{MAX_STACK_K}"
    )
    confirm_contradictions = serializers.BooleanField(
        required=False,
        default=True,
        help_text="With a rating and an asked choice: a rating that leans against the choice is confirmed first",
    )
    # Catch trials and reader quality control (studies.catch, studies.quality); every rule 0: off.
    catch_items = serializers.IntegerField(
        required=False,
        default=0,
        help_text=f"Catch items (synthetic slices with a drawn artefact, never in the statistics), 0..{MAX_CATCH_ITEMS}",
    )
    qc_min_catch_percent = serializers.IntegerField(
        required=False, default=0, help_text="Exclude readers whose catch accuracy is below this percentage"
    )
    qc_min_median_seconds = serializers.FloatField(
        required=False,
        default=0,
        help_text=f"Exclude readers whose median seconds per item are below this, 0..{MAX_QC_MEDIAN_SECONDS}",
    )
    qc_max_run = serializers.IntegerField(
        required=False,
        default=0,
        help_text="Exclude readers with more identical answers in a row than this (>= 2)",
    )
    exposure = serializers.ChoiceField(
        choices=list(EXPOSURES),
        required=False,
        default="off",
        help_text="Time-limited exposure: off, fixed or staircase (then a mask, then the question)",
    )
    exposure_ms = serializers.IntegerField(
        required=False, default=0, help_text="Fixed exposure, or the staircase's start (ms)"
    )
    exposure_step_ms = serializers.IntegerField(
        required=False, default=0, help_text="Staircase: linear step (ms)"
    )
    exposure_step_percent = serializers.IntegerField(
        required=False, default=0, help_text="Staircase: multiplicative step (%)"
    )
    exposure_min_ms = serializers.IntegerField(
        required=False, default=0, help_text="Staircase: lower bound (ms)"
    )
    exposure_max_ms = serializers.IntegerField(
        required=False, default=0, help_text="Staircase: upper bound (ms)"
    )
    exposure_up = serializers.IntegerField(
        required=False, default=0, help_text="Staircase: wrong answers in a row that lengthen it (1-up)"
    )
    exposure_down = serializers.IntegerField(
        required=False, default=0, help_text="Staircase: correct answers in a row that shorten it (3-down)"
    )
    exposure_reversals = serializers.IntegerField(
        required=False, default=0, help_text="Staircase: the last reversals averaged into a threshold"
    )
    slab_thickness_mm = serializers.IntegerField(
        required=False,
        default=0,
        help_text="Slab reading: a slab of this many mm per item, read in axial, coronal and sagittal views; 0: none",
    )
    slab_spacing_mm = serializers.FloatField(
        required=False, default=2.5, help_text="Slab reading: the z spacing (mm) every slab is resampled at"
    )
    task = serializers.ChoiceField(
        choices=list(TASKS),
        required=False,
        default="single",
        help_text="single (one slice at a time) or 2afc (a real and a synthetic slice side by side)",
    )


class SurveyRequest(serializers.Serializer):
    """The options of `manage.py create_survey` and of the admin's add page, by their names in
    studies.survey_input (which checks them for every door: this describes them, it does not check them)."""

    name = serializers.CharField(max_length=NAME_CHARS, help_text="For the study team; readers never see it")
    project = serializers.CharField(
        required=False,
        help_text="The project that owns the survey, one where you are a study admin (default: your only one)",
    )
    model = serializers.CharField(help_text="Name of the synthetic CT dataset under test")
    real_dataset = serializers.CharField(help_text="Name of a real CT dataset of the same contrast kind")
    real = serializers.IntegerField(help_text=f"Number of real slices, 1..{MAX_ITEMS_PER_SIDE}")
    synthetic = serializers.IntegerField(help_text="Number of synthetic slices (equal to real)")
    seed = serializers.IntegerField(help_text="Seed of the slice selection, 0..2**63 - 1")
    model_alias = serializers.CharField(
        required=False, default="", max_length=ALIAS_CHARS, help_text="Default: the model's dataset name"
    )
    reader_title = serializers.CharField(required=False, default=DEFAULT_READER_TITLE, max_length=NAME_CHARS)
    instructions = serializers.CharField(required=False, default="", max_length=INSTRUCTIONS_CHARS)
    reader_title_it = serializers.CharField(
        required=False,
        default="",
        max_length=NAME_CHARS,
        help_text="Title on Italian pages; empty: reader_title",
    )
    instructions_it = serializers.CharField(
        required=False,
        default="",
        max_length=INSTRUCTIONS_CHARS,
        help_text="Instructions on Italian pages; empty: instructions",
    )
    allow_going_back = serializers.BooleanField(required=False, default=False)
    display_policy = DisplayPolicyRequest(required=False)
    design = StudyDesignRequest(required=False)


class AuditRequest(serializers.Serializer):
    open_when_passed = serializers.BooleanField(required=False, default=False)


class InvitationRequest(serializers.Serializer):
    survey = serializers.IntegerField()
    count = serializers.IntegerField(required=False, default=0, min_value=0, max_value=500)
    emails = serializers.ListField(
        child=serializers.EmailField(), required=False, default=list, max_length=500
    )
    label = serializers.CharField(required=False, default="", allow_blank=True, max_length=128)
    expires_in_days = serializers.IntegerField(required=False, allow_null=True, default=None)
