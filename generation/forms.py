from django import forms

from generation.models import Checkpoint
from generation.vocabulary import DEFAULT_NORMALISATION, HU_RANGE_DEFAULT, NORMALISATION_CHOICES
from imaging.constants import T1_IN, T1_OUT, T2, DatasetKind
from imaging.selectors import datasets_of_kind

INPUT_CHOICES = [("", "-"), (T1_IN, "T1 in-phase"), (T1_OUT, "T1 out-of-phase"), (T2, "T2")]


class CheckpointUploadForm(forms.Form):
    name = forms.CharField(max_length=128)
    file = forms.FileField(
        help_text="A .pth state dict (read with weights_only=True) or a .safetensors file."
    )
    input_1 = forms.ChoiceField(choices=INPUT_CHOICES[1:], label="Input channel 1")
    input_2 = forms.ChoiceField(choices=INPUT_CHOICES, required=False, label="Input channel 2")
    input_3 = forms.ChoiceField(choices=INPUT_CHOICES, required=False, label="Input channel 3")
    contrast = forms.TypedChoiceField(
        choices=[("yes", "Contrast-enhanced CT"), ("no", "Non-contrast CT")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label="Imitates",
    )
    hu_min = forms.IntegerField(initial=HU_RANGE_DEFAULT[0], label="HU at tanh -1")
    hu_max = forms.IntegerField(initial=HU_RANGE_DEFAULT[1], label="HU at tanh +1")
    normalisation = forms.ChoiceField(choices=NORMALISATION_CHOICES, initial=DEFAULT_NORMALISATION)
    input_size = forms.IntegerField(initial=256, min_value=16, max_value=2048, help_text="Multiple of 4.")
    arch = forms.CharField(
        initial="auto", help_text="auto, resnet, multimodal, or a reference name such as resnet_9blocks."
    )

    def inputs(self) -> list[str]:
        data = self.cleaned_data
        return [data[key] for key in ("input_1", "input_2", "input_3") if data.get(key)]


class StartGenerationForm(forms.Form):
    mri_dataset = forms.ModelChoiceField(queryset=datasets_of_kind(DatasetKind.MRI), label="MRI dataset")
    output_dataset = forms.CharField(
        max_length=128,
        required=False,
        help_text="Synthetic CT dataset to write (default '<checkpoint> synthetic CT').",
    )
    z_tolerance = forms.FloatField(
        required=False, min_value=0.01, label="z tolerance (mm)", help_text="Default: half the slice spacing."
    )


class NewGenerationJobForm(StartGenerationForm):
    checkpoint = forms.ModelChoiceField(queryset=Checkpoint.objects.all())
    field_order = ["checkpoint", "mri_dataset", "output_dataset", "z_tolerance"]
