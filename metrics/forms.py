from django import forms
from django.conf import settings

from imaging.constants import DatasetKind
from imaging.selectors import datasets_of_kind
from metrics.models import ObserverClassifier


class ComputeMetricsForm(forms.Form):
    model = forms.ModelChoiceField(
        queryset=datasets_of_kind(DatasetKind.SYNTHETIC_CT),
        help_text="The model under test: a synthetic CT dataset.",
    )
    real_dataset = forms.ModelChoiceField(
        queryset=datasets_of_kind(DatasetKind.REAL_CT),
        help_text="Real CT of the same kind (contrast or not); its patients are split into reference and "
        "held-out halves for the baseline.",
    )
    max_per_layer = forms.IntegerField(
        min_value=2,
        required=False,
        initial=settings.METRICS_MAX_PER_LAYER,
        help_text="Cap on the slices drawn per layer and set; empty: all of the model's slices.",
    )
    seed = forms.IntegerField(initial=0, help_text="Seeds the held-out split and the per-layer samples.")


class MachineObserverForm(forms.Form):
    model = forms.ModelChoiceField(
        queryset=datasets_of_kind(DatasetKind.SYNTHETIC_CT),
        help_text="The model under test: a synthetic CT dataset (its whole pool is used).",
    )
    real_dataset = forms.ModelChoiceField(
        queryset=datasets_of_kind(DatasetKind.REAL_CT),
        help_text="Real CT of the same kind (contrast or not); its whole pool is used.",
    )
    classifiers = forms.MultipleChoiceField(
        choices=ObserverClassifier.choices,
        initial=["interpretable", "cnn", "volumetric"],
        widget=forms.CheckboxSelectMultiple,
        help_text="One job per classifier; the CNN runs on the queue MACHINE_OBSERVER_CNN_QUEUE names.",
    )
    seed = forms.IntegerField(initial=0, help_text="Seeds the folds, the bootstrap and the CNN.")
