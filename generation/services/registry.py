"""The checkpoint registry: checking a generator file against what is declared about it and storing it.

Nothing is stored unless every check passes: weights as safetensors (storage name by sha256), and the Checkpoint row
with its audit row in one transaction.
"""

from importlib.metadata import PackageNotFoundError, version

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from audit.services import record_event, user_or_none
from generation.models import Checkpoint
from generation.vocabulary import (
    HU_RANGE_DEFAULT,
    INPUT_MODALITIES,
    CheckpointRefused,
    check_hu_range,
    normalisation_rule,
)
from jobs.services import JobRefused
from projects.models import Project
from projects.services import ensure_default_project
from storage import StorageFailed, store_file


class GenerationError(JobRefused):
    """A generation request that cannot be served; the message is one line saying why."""


def software_version() -> str:
    try:
        blindread = version("blindread")
    except PackageNotFoundError:
        blindread = "unknown"
    try:
        torch = version("torch")
    except PackageNotFoundError:
        torch = "unknown"
    return f"blindread {blindread}, torch {torch}"


def parse_inputs(text: str | list[str]) -> list[str]:
    """'t1_in,t1_out' -> ['t1_in', 't1_out']; CheckpointRefused (one line) for unknown or repeated names."""
    names = [part.strip() for part in text.split(",")] if isinstance(text, str) else [str(p) for p in text]
    names = [name for name in names if name]
    if not names:
        raise CheckpointRefused(f"--inputs needs one to three of {', '.join(INPUT_MODALITIES)}")
    for name in names:
        if name not in INPUT_MODALITIES:
            raise CheckpointRefused(f"unknown input modality {name!r}; use {', '.join(INPUT_MODALITIES)}")
    if len(set(names)) != len(names):
        raise CheckpointRefused(f"input modalities repeat: {','.join(names)}")
    return names


def weights_storage_name(sha256: str) -> str:
    return f"checkpoints/{sha256}.safetensors"


def register_checkpoint(
    *,
    name: str,
    data: bytes,
    inputs: str | list[str],
    contrast: bool,
    hu_range: tuple[int, int] = HU_RANGE_DEFAULT,
    arch: str = "auto",
    normalisation: str = "percentile_0_5_99_5",
    input_size: int = 256,
    provenance: dict | None = None,
    actor=None,
    project: Project | None = None,
) -> Checkpoint:
    """Check a generator file against what is declared about it and store it; CheckpointRefused otherwise.

    Nothing is stored unless every check passes: weights as safetensors (storage name by sha256), and the
    Checkpoint row with its audit row in one transaction.
    """
    name = (name or "").strip()
    if not name:
        raise CheckpointRefused("a checkpoint name is required")
    if len(name) > 128:
        raise CheckpointRefused(f"the checkpoint name is {len(name)} characters long; at most 128")
    if Checkpoint.objects.filter(name=name).exists():
        raise CheckpointRefused(f"a checkpoint named {name!r} is already registered")
    modalities = parse_inputs(inputs)
    if not isinstance(contrast, bool):
        raise CheckpointRefused(
            "say whether the CT it imitates is contrast-enhanced (--contrast or --no-contrast)"
        )
    try:
        check_hu_range(*hu_range)
        normalisation_rule(normalisation)
    except (TypeError, ValueError) as exc:
        raise CheckpointRefused(str(exc)) from None
    limit = settings.GENERATION_CHECKPOINT_MAX_BYTES
    if len(data) > limit:
        raise CheckpointRefused(f"the file is {len(data)} bytes, more than the {limit} bytes allowed")
    # Checking the file needs PyTorch, which a web process loads only now, when a checkpoint is registered.
    from generation.checkpoints import prepare_checkpoint

    prepared = prepare_checkpoint(data, inputs=modalities, arch=arch, input_size=input_size)
    storage_name = weights_storage_name(prepared.sha256)
    wrote = False
    try:
        if not default_storage.exists(storage_name):
            try:
                saved = store_file(storage_name, prepared.weights)
            except StorageFailed as exc:
                raise CheckpointRefused(f"checkpoint not registered: {exc}") from None
            wrote = True
            if saved != storage_name:  # a concurrent registration of the same weights got there first
                default_storage.delete(saved)
                wrote = False
        with transaction.atomic():
            checkpoint = Checkpoint.objects.create(
                name=name,
                architecture=prepared.architecture.kind,
                architecture_config=prepared.architecture.config,
                input_modalities=modalities,
                normalisation=normalisation,
                input_size=input_size,
                hu_min=int(hu_range[0]),
                hu_max=int(hu_range[1]),
                contrast_enhanced=contrast,
                weights=storage_name,
                sha256=prepared.sha256,
                parameter_count=prepared.parameter_count,
                output_fingerprint=prepared.fingerprint,
                provenance={
                    **(provenance or {}),
                    "source_format": prepared.source_format,
                    "source_sha256": prepared.source_sha256,
                    "load_notes": prepared.notes,
                    "registered_with": software_version(),
                },
                created_by=user_or_none(actor),
            )
            record_event(
                actor=actor,
                verb="checkpoint.registered",
                target=checkpoint,
                details={
                    "name": name,
                    "sha256": prepared.sha256,
                    "architecture": prepared.architecture.describe(),
                    "inputs": modalities,
                },
            )
            share_checkpoint(checkpoint=checkpoint, project=project or ensure_default_project(), actor=actor)
    except IntegrityError:
        if wrote and not Checkpoint.objects.filter(sha256=prepared.sha256).exists():
            default_storage.delete(storage_name)
        raise CheckpointRefused(f"a checkpoint named {name!r} is already registered") from None
    except BaseException:
        if wrote and not Checkpoint.objects.filter(sha256=prepared.sha256).exists():
            default_storage.delete(storage_name)
        raise
    return checkpoint


@transaction.atomic
def share_checkpoint(*, checkpoint: Checkpoint, project: Project, actor=None) -> None:
    """Let ``project`` use ``checkpoint`` (a checkpoint may serve several projects); audited once per project."""
    if checkpoint.projects.filter(pk=project.pk).exists():
        return
    checkpoint.projects.add(project)
    record_event(actor=actor, verb="checkpoint.shared", target=checkpoint, details={"project": project.name})
