from django import forms
from django.conf import settings

from imaging.models import Dataset


class ComputeMetricsForm(forms.Form):
    model = forms.ModelChoiceField(
        queryset=Dataset.objects.filter(kind=Dataset.Kind.SYNTHETIC_CT).order_by("name"),
        help_text="The model under test: a synthetic CT dataset.",
    )
    real_dataset = forms.ModelChoiceField(
        queryset=Dataset.objects.filter(kind=Dataset.Kind.REAL_CT).order_by("name"),
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
