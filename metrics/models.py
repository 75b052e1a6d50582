"""Image-distribution metric jobs and results, and machine observer jobs and results."""

from django.db import models

from imaging.selectors import datasets_visible_to
from jobs.models import Job
from metrics.measures.vocabulary import AVERAGE_LAYER, METRIC_LABELS, STORED_METRICS


class MetricsJob(Job):
    """One computation of every metric for a model (a synthetic CT dataset) against a real CT dataset."""

    job_kind = "metrics"
    runner = "metrics.services.metric_runs.run_metrics_job"
    progress_unit = "slices"

    model = models.ForeignKey(
        "imaging.Dataset",
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The model under test: a synthetic CT dataset.",
    )
    real_dataset = models.ForeignKey(
        "imaging.Dataset",
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Real CT, split into a reference half and a held-out half for the baseline.",
    )
    max_per_layer = models.PositiveIntegerField(
        null=True, blank=True, help_text="Cap on the slices drawn per layer and set (empty: no cap)."
    )
    seed = models.IntegerField(default=0, help_text="Seeds the held-out split and the per-layer samples.")
    feature_metrics_note = models.TextField(
        blank=True, help_text="Why FID and KID are unavailable, when they are."
    )

    class Meta(Job.Meta):
        constraints = [
            *Job.Meta.constraints,
            models.CheckConstraint(
                condition=~models.Q(model=models.F("real_dataset")),
                name="metrics_job_model_is_not_its_real_dataset",
            ),
        ]

    @classmethod
    def visible_to(cls, user):
        return cls.objects.filter(model__in=datasets_visible_to(user))

    def __str__(self):
        return f"Metrics #{self.pk}: {self.model} vs {self.real_dataset} ({self.status_label})"


class MetricResult(models.Model):
    """One metric of one model in one axial layer (layer 0: the mean over layers), with its baseline.

    ``value`` is metric(reference real half, synthetic), ``baseline`` metric(reference half, held-out half) at
    the same sample size, ``normalised`` = value / baseline. A missing value comes with ``note``
    ("unavailable: <reason>"). A recomputation replaces all rows of a (model, real dataset) pair at once.
    The realism-along-z metrics (``VOLUME_METRICS``) are computed on whole volumes and stored in layer 0 with
    ``detail["scope"] == "whole volumes"``; their sample sizes count volumes, not slices.
    """

    model = models.ForeignKey("imaging.Dataset", on_delete=models.CASCADE, related_name="+")
    real_dataset = models.ForeignKey("imaging.Dataset", on_delete=models.CASCADE, related_name="+")
    layer = models.PositiveSmallIntegerField(help_text="Axial layer 1..10; 0 = mean over layers.")
    metric = models.CharField(max_length=32, choices=[(name, METRIC_LABELS[name]) for name in STORED_METRICS])
    value = models.FloatField(null=True, blank=True)
    baseline = models.FloatField(null=True, blank=True)
    normalised = models.FloatField(null=True, blank=True)
    n_synthetic = models.PositiveIntegerField(default=0)
    n_reference = models.PositiveIntegerField(default=0)
    n_held_out = models.PositiveIntegerField(default=0)
    note = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="Spectra, tissue histograms, KID spread.")
    job = models.ForeignKey(
        MetricsJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="results"
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["model", "real_dataset", "metric", "layer"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "real_dataset", "layer", "metric"], name="metric_result_once_per_layer"
            ),
            models.CheckConstraint(
                condition=models.Q(layer__gte=AVERAGE_LAYER, layer__lte=10),
                name="metric_result_layer_0_to_10",
            ),
        ]

    def __str__(self):
        where = "mean" if self.layer == AVERAGE_LAYER else f"layer {self.layer}"
        return f"{self.model} / {self.get_metric_display()} / {where}"


class ObserverClassifier(models.TextChoices):
    INTERPRETABLE = "interpretable", "Logistic regression on image features"
    CNN = "cnn", "Small CNN on random crops"
    VOLUMETRIC = "volumetric", "Logistic regression on 3-D features of slabs"


class MachineObserverJob(Job):
    """One machine observer run: a classifier (`classifier`) trained and evaluated to tell a model's synthetic CT
    slices from real CT slices, over both whole pools rendered under `display_policy`, cross-validated by patient.

    The volumetric observer reads, for each slice, the slab of its neighbours on the grid common to both datasets'
    volumes (not the display pipeline: readers of slabs see a fixed grid). The interpretable and volumetric
    observers run on the default queue; the CNN on ``settings.MACHINE_OBSERVER_CNN_QUEUE``
    ("gpu" where a GPU worker serves it). Its result replaces the (model, real dataset, classifier) result."""

    job_kind = "machine_observer"
    runner = "metrics.services.observer_runs.run_machine_observer_job"
    progress_unit = "steps"  # a slice rendered, then (the CNN) a training step

    queue = models.CharField(
        max_length=16, default="default", help_text="The Celery queue this job is sent to."
    )
    classifier = models.CharField(max_length=16, choices=ObserverClassifier.choices)
    model = models.ForeignKey(
        "imaging.Dataset",
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The model under test: a synthetic CT dataset.",
    )
    real_dataset = models.ForeignKey(
        "imaging.Dataset",
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The real CT it is told from.",
    )
    display_policy = models.JSONField(
        help_text="The resolved display policy (field of view chosen) every slice is rendered under."
    )
    folds = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Cross-validation folds (empty: 5, or one per patient when fewer)."
    )
    bootstrap = models.PositiveIntegerField(help_text="Patient resamples behind each confidence interval.")
    cnn_steps = models.PositiveIntegerField(default=300, help_text="CNN training steps per fold.")
    seed = models.IntegerField(default=0)

    class Meta(Job.Meta):
        constraints = [
            *Job.Meta.constraints,
            models.CheckConstraint(
                condition=~models.Q(model=models.F("real_dataset")),
                name="machine_observer_job_model_is_not_its_real_dataset",
            ),
            models.CheckConstraint(
                condition=models.Q(classifier__in=["interpretable", "cnn", "volumetric"]),
                name="machine_observer_job_classifier_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(queue__in=["default", "gpu"]), name="machine_observer_job_queue_valid"
            ),
        ]

    @classmethod
    def visible_to(cls, user):
        return cls.objects.filter(model__in=datasets_visible_to(user))

    def __str__(self):
        return (
            f"Machine observer #{self.pk} ({self.get_classifier_display()}): {self.model} vs "
            f"{self.real_dataset} ({self.status_label})"
        )


class MachineObserverResult(models.Model):
    """How well one classifier told a model's synthetic slices from real ones: cross-validated AUC with its
    bootstrap CI (resampling patients) overall, per axial layer (`by_layer`), the features that give the
    synthetic slices away (`telling`, interpretable observer only) and the full result (`detail`)."""

    model = models.ForeignKey("imaging.Dataset", on_delete=models.CASCADE, related_name="+")
    real_dataset = models.ForeignKey("imaging.Dataset", on_delete=models.CASCADE, related_name="+")
    classifier = models.CharField(max_length=16, choices=ObserverClassifier.choices)
    auc = models.FloatField(null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    n_real = models.PositiveIntegerField(default=0)
    n_synthetic = models.PositiveIntegerField(default=0)
    n_patients = models.PositiveIntegerField(default=0)
    folds = models.PositiveSmallIntegerField(default=0)
    by_layer = models.JSONField(default=list, blank=True)
    telling = models.JSONField(
        default=list, blank=True, help_text="The most telling features: name, label, sentence, medians, AUC."
    )
    summary = models.TextField(blank=True, help_text="What gives synthetic slices away, in one sentence.")
    display_policy = models.JSONField(default=dict, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey(
        MachineObserverJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="results"
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["model", "real_dataset", "classifier"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "real_dataset", "classifier"], name="machine_observer_result_once_per_pair"
            ),
            models.CheckConstraint(
                condition=models.Q(auc__isnull=True) | models.Q(auc__gte=0, auc__lte=1),
                name="machine_observer_result_auc_0_to_1",
            ),
        ]

    def __str__(self):
        return f"{self.model} / {self.get_classifier_display()}: AUC {self.auc}"
