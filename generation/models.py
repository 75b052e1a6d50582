"""Registered generator checkpoints, generation jobs and the synthetic slices they made, training runs."""

from django.conf import settings
from django.db import models

from generation.vocabulary import ARCHITECTURES, DEFAULT_NORMALISATION, NORMALISATION_CHOICES
from jobs.models import Job
from projects.selectors import visible_to


class Checkpoint(models.Model):
    """An MRI-to-CT generator: weights (safetensors in storage), what it expects and how its output maps to HU.

    Rows are written once by `register_checkpoint` after every check passed and never edited.
    """

    name = models.CharField(max_length=128, unique=True)
    architecture = models.CharField(max_length=16, choices=[(a, a) for a in ARCHITECTURES])
    architecture_config = models.JSONField(help_text="Constructor arguments of the generator.")
    input_modalities = models.JSONField(
        help_text='MRI modalities in input-channel order, e.g. ["t1_in", "t1_out"].'
    )
    normalisation = models.CharField(
        max_length=32, choices=NORMALISATION_CHOICES, default=DEFAULT_NORMALISATION
    )
    input_size = models.PositiveIntegerField(help_text="Slices are resized to this many rows and columns.")
    hu_min = models.IntegerField(help_text="HU that a tanh output of -1 maps to.")
    hu_max = models.IntegerField(help_text="HU that a tanh output of +1 maps to.")
    contrast_enhanced = models.BooleanField(help_text="Whether the CT it imitates is contrast-enhanced.")
    weights = models.CharField(max_length=255, help_text="Storage name of the safetensors weights.")
    sha256 = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the stored weights file.")
    parameter_count = models.PositiveBigIntegerField()
    output_fingerprint = models.JSONField(
        help_text="Statistics and sampled values of the output on a fixed input, measured at registration."
    )
    provenance = models.JSONField(default=dict, blank=True)
    projects = models.ManyToManyField(
        "projects.Project",
        blank=True,
        related_name="checkpoints",
        help_text="The projects that use the checkpoint; only their members see it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hu_min__lt=models.F("hu_max")), name="checkpoint_hu_range"
            ),
            models.CheckConstraint(
                condition=models.Q(input_size__gte=16, input_size__lte=2048), name="checkpoint_input_size"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def n_inputs(self) -> int:
        return len(self.input_modalities)


class GenerationJob(Job):
    """Checkpoint x MRI dataset -> synthetic CT dataset. One job per pair; running it again resumes it."""

    job_kind = "generation"
    queue = "gpu"
    runner = "generation.services.runs.run_generation_job"
    progress_unit = "slices"

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="jobs")
    mri_dataset = models.ForeignKey(
        "imaging.Dataset", on_delete=models.PROTECT, related_name="generation_jobs"
    )
    output_dataset = models.ForeignKey(
        "imaging.Dataset", null=True, blank=True, on_delete=models.PROTECT, related_name="generated_by_jobs"
    )
    output_dataset_name = models.CharField(max_length=128)
    z_tolerance_mm = models.FloatField(
        null=True, blank=True, help_text="Pairing tolerance; empty = half the first input's slice spacing."
    )
    unpaired_count = models.PositiveIntegerField(default=0)
    unpaired = models.JSONField(default=list, blank=True, help_text="Slices with no partner and why.")
    device = models.CharField(max_length=64, blank=True)
    software_version = models.CharField(max_length=128, blank=True)

    class Meta(Job.Meta):
        constraints = [
            *Job.Meta.constraints,
            models.UniqueConstraint(
                fields=["checkpoint", "mri_dataset"], name="generation_job_once_per_input"
            ),
        ]

    @classmethod
    def visible_to(cls, user):
        return visible_to(cls.objects.all(), user, through="checkpoint__projects")

    def __str__(self):
        return f"{self.checkpoint} on {self.mri_dataset} ({self.status_label})"


class SyntheticSlice(models.Model):
    """One generated slice and the MRI slices it came from; the unique key makes generation exactly-once."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="synthetic_slices")
    job = models.ForeignKey(GenerationJob, on_delete=models.PROTECT, related_name="synthetic_slices")
    source_key = models.CharField(
        max_length=255, help_text="Ids of the source MRI slices in input order, joined by '-'."
    )
    source_slice_ids = models.JSONField(help_text="Ids of the source MRI slices, in input-channel order.")
    primary_source = models.ForeignKey(
        "imaging.Slice", on_delete=models.PROTECT, related_name="synthetic_derivatives"
    )
    output = models.OneToOneField("imaging.Slice", on_delete=models.CASCADE, related_name="synthesis")
    device = models.CharField(max_length=64)
    software_version = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "output"]  # a slice orders by its volume, then its index
        constraints = [
            models.UniqueConstraint(
                fields=["checkpoint", "source_key"], name="synthetic_slice_once_per_checkpoint_and_sources"
            ),
        ]

    def __str__(self):
        return f"{self.checkpoint} <- {self.source_key}"


class TrainingRun(Job):
    """A CycleGAN training run; its files (latest state, loss log and plot) live in `run_dir`."""

    job_kind = "training"
    queue = "gpu"
    runner = "generation.services.training.run_training"
    progress_unit = "iterations"

    name = models.CharField(
        max_length=128, unique=True, help_text="Also the name it registers its checkpoint as."
    )
    setup = models.CharField(max_length=16)
    options = models.JSONField(help_text="Every option of the run, as given to train_cyclegan.")
    run_dir = models.CharField(max_length=500)
    checkpoint = models.ForeignKey(
        Checkpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_runs"
    )

    class Meta(Job.Meta):
        pass

    def __str__(self):
        return f"{self.name} ({self.setup}, {self.status_label})"

    @classmethod
    def visible_to(cls, user):
        """A run is seen by the projects that use the checkpoint it registered (until then: its starter)."""
        rows = cls.objects.all()
        return rows.filter(pk__in=visible_to(rows, user, through="checkpoint__projects").values("pk")) | (
            rows.filter(created_by=user) if user.is_authenticated else rows.none()
        )
