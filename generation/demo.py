"""The generation part of `manage.py demo`: register the paper's four demo models (In'n out, All-in, Triple and
In'n out HUM, committed under generation/demo/) and make each one's synthetic CT from the demo's phantom MRI.

Runs in the demo command's own process (no worker needed) and is idempotent: a second run registers nothing and
generates nothing. How the checkpoints were trained: docs/demo_checkpoint.md.
"""

from dataclasses import dataclass
from pathlib import Path

from generation.models import GenerationJob
from generation.selectors import checkpoint_by_name
from generation.services import generate_now, register_checkpoint, start_generation
from imaging.constants import HU_MIN
from imaging.selectors import dataset_named
from jobs.models import JobStatus
from jobs.services import progress_of

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_MRI_DATASET = "Phantom MRI"


@dataclass(frozen=True)
class DemoModel:
    """One of the paper's models as a committed demo checkpoint: what it is called, its file, its inputs and
    whether it makes contrast-enhanced CT."""

    name: str
    file: str
    inputs: tuple[str, ...]
    contrast: bool

    @property
    def path(self) -> Path:
        return DEMO_DIR / self.file

    @property
    def output_dataset(self) -> str:
        return f"{self.name} synthetic CT"

    def declaration(self) -> dict:
        return {
            "inputs": list(self.inputs),
            "contrast": self.contrast,
            "hu_range": (HU_MIN, 1024),
            "arch": "auto",
            "normalisation": "percentile_0_5_99_5",
            "input_size": 128,
        }


DEMO_MODELS = (
    DemoModel("In'n out", "demo_in_n_out.safetensors", ("t1_in", "t1_out"), True),
    DemoModel("All-in", "demo_all_in.safetensors", ("t1_in",), True),
    DemoModel("Triple", "demo_triple.safetensors", ("t1_in", "t1_out", "t2"), True),
    DemoModel("In'n out HUM", "demo_in_n_out_hum.safetensors", ("t1_in", "t1_out"), False),
)


def build_demo(*, stdout) -> None:
    mri = dataset_named(DEMO_MRI_DATASET)
    for model in DEMO_MODELS:
        checkpoint = _register(model, stdout)
        if mri is None:
            continue
        _generate(model, checkpoint, mri, stdout)
    if mri is None:
        stdout.write(f"No dataset {DEMO_MRI_DATASET!r}; skipping demo generation.")


def _register(model: DemoModel, stdout):
    checkpoint = checkpoint_by_name(model.name)
    if checkpoint is not None:
        return checkpoint
    checkpoint = register_checkpoint(
        name=model.name,
        data=model.path.read_bytes(),
        provenance={
            "file": model.file,
            "registered_by": "manage.py demo",
            "training": "docs/demo_checkpoint.md",
        },
        **model.declaration(),
    )
    stdout.write(
        f"Registered the demo model {checkpoint.name!r} ({checkpoint.parameter_count:,} parameters)."
    )
    return checkpoint


def _generate(model: DemoModel, checkpoint, mri, stdout) -> None:
    job = GenerationJob.objects.filter(checkpoint=checkpoint, mri_dataset=mri).first()
    if job is not None and job.status == JobStatus.DONE:
        stdout.write(f"{model.output_dataset}: {job.done} synthetic slices already there")
        return
    job = start_generation(
        checkpoint=checkpoint, mri_dataset=mri, output_dataset_name=model.output_dataset, enqueue=False
    )
    stdout.write(f"Generating {model.output_dataset!r} from {DEMO_MRI_DATASET!r} ...")
    finished = generate_now(job, device="cpu")
    if finished is None:
        stdout.write(
            f"{model.output_dataset}: job #{job.pk} is being run by a worker; see the admin for progress"
        )
        return
    stdout.write(
        f"{model.output_dataset}: {progress_of(finished).line()}; {finished.message or finished.error}"
    )
