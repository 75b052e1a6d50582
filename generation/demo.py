"""The generation part of `manage.py demo`: register the committed demo checkpoint and make its synthetic CT.

Runs in the demo command's process (no worker needed) and is idempotent: a second run registers nothing and
generates nothing. How the checkpoint was trained: docs/demo_checkpoint.md.
"""

from pathlib import Path

from generation.models import GenerationJob
from generation.selectors import checkpoint_by_name
from generation.services import generate_now, register_checkpoint, start_generation
from imaging.constants import HU_MIN
from imaging.selectors import dataset_named
from jobs.models import JobStatus
from jobs.services import progress_of

DEMO_CHECKPOINT_FILE = Path(__file__).resolve().parent / "demo" / "demo_generator.safetensors"
DEMO_CHECKPOINT_NAME = "Demo CycleGAN (in-phase)"
DEMO_MRI_DATASET = "Phantom MRI"
DEMO_OUTPUT_DATASET = "Demo CycleGAN (in-phase) synthetic CT"
DEMO_DECLARATION = {
    "inputs": ["t1_in"],
    "contrast": True,
    "hu_range": (HU_MIN, 1024),
    "arch": "resnet",
    "normalisation": "percentile_0_5_99_5",
    "input_size": 128,
}


def build_demo(*, stdout) -> None:
    checkpoint = checkpoint_by_name(DEMO_CHECKPOINT_NAME)
    if checkpoint is None:
        checkpoint = register_checkpoint(
            name=DEMO_CHECKPOINT_NAME,
            data=DEMO_CHECKPOINT_FILE.read_bytes(),
            provenance={
                "file": DEMO_CHECKPOINT_FILE.name,
                "registered_by": "manage.py demo",
                "training": "docs/demo_checkpoint.md",
            },
            **DEMO_DECLARATION,
        )
        stdout.write(
            f"Registered the demo checkpoint {checkpoint.name!r} ({checkpoint.parameter_count:,} parameters)."
        )
    mri = dataset_named(DEMO_MRI_DATASET)
    if mri is None:
        stdout.write(f"No dataset {DEMO_MRI_DATASET!r}; skipping demo generation.")
        return
    job = GenerationJob.objects.filter(checkpoint=checkpoint, mri_dataset=mri).first()
    if job is not None and job.status == JobStatus.DONE:
        stdout.write(f"{DEMO_OUTPUT_DATASET}: {job.done} synthetic slices already there")
        return
    job = start_generation(
        checkpoint=checkpoint, mri_dataset=mri, output_dataset_name=DEMO_OUTPUT_DATASET, enqueue=False
    )
    stdout.write(f"Generating {DEMO_OUTPUT_DATASET!r} from {DEMO_MRI_DATASET!r} ...")
    finished = generate_now(job, device="cpu")
    if finished is None:
        stdout.write(
            f"{DEMO_OUTPUT_DATASET}: job #{job.pk} is being run by a worker; see the admin for progress"
        )
        return
    job = finished
    stdout.write(f"{DEMO_OUTPUT_DATASET}: {progress_of(job).line()}; {job.message or job.error}")
