"""The image library: datasets of volumes of axial slices, with pixels kept in storage one slice per file."""

import uuid

from django.db import models

from imaging import constants
from imaging.constants import AXIAL_LAYERS, DatasetKind
from jobs.models import Job, JobStatus
from projects.selectors import is_site_superuser, visible_to


class Dataset(models.Model):
    class Kind(models.TextChoices):
        REAL_CT = DatasetKind.REAL_CT, DatasetKind.LABELS[DatasetKind.REAL_CT]
        MRI = DatasetKind.MRI, DatasetKind.LABELS[DatasetKind.MRI]
        SYNTHETIC_CT = DatasetKind.SYNTHETIC_CT, DatasetKind.LABELS[DatasetKind.SYNTHETIC_CT]

    name = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Only meaningful for CT (real or synthetic); None for MRI.
    contrast_enhanced = models.BooleanField(null=True, blank=True)
    source = models.TextField(blank=True, help_text="Where the data came from (path, archive, model).")
    projects = models.ManyToManyField(
        "projects.Project",
        blank=True,
        related_name="datasets",
        help_text="The projects that use the dataset; only their members see it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="mri", contrast_enhanced__isnull=True) | ~models.Q(kind="mri"),
                name="dataset_mri_has_no_contrast_flag",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_ct(self) -> bool:
        return self.kind in (self.Kind.REAL_CT, self.Kind.SYNTHETIC_CT)


class Modality(models.TextChoices):
    CT = constants.CT, "CT"
    T1_IN = constants.T1_IN, "T1 in-phase"
    T1_OUT = constants.T1_OUT, "T1 out-of-phase"
    T2 = constants.T2, "T2"


class Volume(models.Model):
    """One series: the slices of one acquisition of one patient in one modality, ordered along the slice normal."""

    class SourceFormat(models.TextChoices):
        DICOM = "dicom", "DICOM"
        NIFTI = "nifti", "NIfTI"
        GENERATED = "generated", "Generated"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="volumes")
    patient = models.CharField(max_length=128, help_text="Pseudonym of the patient.")
    modality = models.CharField(max_length=8, choices=Modality.choices)
    # SeriesInstanceUID for DICOM, "nifti:<sha256>" for NIfTI: what makes a second import of it a duplicate.
    series_key = models.CharField(max_length=200)
    source_format = models.CharField(max_length=16, choices=SourceFormat.choices)
    source_path = models.TextField(blank=True)
    rows = models.PositiveIntegerField()
    columns = models.PositiveIntegerField()
    row_spacing_mm = models.FloatField()
    column_spacing_mm = models.FloatField()
    slice_spacing_mm = models.FloatField(null=True, blank=True)
    orientation = models.JSONField(
        help_text="Direction cosines of rows and columns (6 numbers, patient LPS)."
    )
    slice_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "patient", "modality", "id"]
        constraints = [
            models.UniqueConstraint(fields=["series_key", "modality"], name="volume_series_imported_once"),
        ]

    def __str__(self):
        return f"{self.dataset.name} / {self.patient} / {self.get_modality_display()}"


class Slice(models.Model):
    volume = models.ForeignKey(Volume, on_delete=models.CASCADE, related_name="slices")
    index = models.PositiveIntegerField(help_text="Position in the volume, 0 = most inferior.")
    z_mm = models.FloatField(help_text="Patient z of the slice centre (mm, superior positive).")
    axial_layer = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="1 (lower abdomen) .. 10 (lung bases); empty when outside imported bounds.",
    )
    pixels = models.CharField(
        max_length=255, help_text="Storage name of the .npy file with this slice's pixels."
    )
    sop_instance_uid = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["volume", "index"]
        constraints = [
            models.UniqueConstraint(fields=["volume", "index"], name="slice_index_unique_in_volume"),
            models.CheckConstraint(
                condition=models.Q(axial_layer__isnull=True)
                | models.Q(axial_layer__gte=1, axial_layer__lte=AXIAL_LAYERS),
                name="slice_axial_layer_1_to_10",
            ),
        ]

    def __str__(self):
        return f"{self.volume} #{self.index} (z={self.z_mm:.1f})"


class ImportJob(Job):
    """An upload from the admin, imported by a worker; the files it rejected are kept with their reasons."""

    job_kind = "import"
    queue = "interactive"  # someone waits for it (jobs.workers)
    runner = "imaging.services.run_import_job"
    progress_unit = "files"

    dataset_name = models.CharField(max_length=128)
    kind = models.CharField(max_length=4, choices=[("ct", "Real CT"), ("sct", "Synthetic CT"), ("mr", "MRI")])
    modality = models.CharField(max_length=8, choices=Modality.choices, blank=True)
    contrast_enhanced = models.BooleanField(null=True, blank=True)
    nifti_pseudonym = models.CharField(
        max_length=32,
        blank=True,
        help_text="The pseudonym of the patient the uploader named for NIfTI files.",
    )
    upload_dir = models.CharField(
        max_length=255, blank=True, help_text="Storage folder holding the uploaded files (none for PACS)."
    )
    pacs_series = models.JSONField(
        default=list,
        blank=True,
        help_text="[[StudyInstanceUID, SeriesInstanceUID], ...] to retrieve from PACS; emptied when the job ends.",
    )
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The project the imported dataset is for (it uses the dataset once imported).",
    )
    volumes_imported = models.PositiveIntegerField(default=0)
    volumes_skipped = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, blank=True, help_text='[{"path": "file 3" or "file 1, entry 17", "reason": ...}, ...]'
    )

    class Meta(Job.Meta):
        pass

    def __str__(self):
        return f"Import #{self.pk} into {self.dataset_name} ({self.status_label})"

    @classmethod
    def visible_to(cls, user):
        """An import is seen by the project it is for, and by whoever started it."""
        rows = cls.objects.all()
        if is_site_superuser(user):
            return rows
        if not user.is_authenticated:
            return rows.none()
        return visible_to(rows, user) | rows.filter(created_by=user)

    @property
    def status_label(self) -> str:
        if self.status == JobStatus.DONE and self.errors:
            return "Done with errors"
        return super().status_label
