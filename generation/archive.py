"""Generation's part of a study archive: the model's provenance of each synthetic item (`items.json` ->
`model_provenance`: the checkpoint's name, sha256, architecture and inputs, the source slices and the software
version). It is written for the record and not restored: a restored item is a one-slice volume of its own, and the
checkpoint stays on the exporting site. The declarations say which field is written and why the others are not
(tests/archives/test_archive_format.py holds every field to them).
"""

from collections.abc import Iterable

from audit.archive import ArchivedFields
from generation.models import Checkpoint, SyntheticSlice

SYNTHETIC_SLICES = ArchivedFields(
    SyntheticSlice,
    "items.json (model_provenance)",
    copied=("source_slice_ids", "software_version"),
    related={"checkpoint": "checkpoint", "output": "slice_id"},
    left_out={
        "id": "the row's number on the exporting site",
        "job": "the generation job of the exporting site",
        "source_key": "the exporting site's key of the source slices; their ids are archived",
        "primary_source": "the source slice ids are archived",
        "device": "where the exporting site ran the model",
        "created_at": "when the exporting site generated the slice",
    },
)
CHECKPOINTS = ArchivedFields(
    Checkpoint,
    "items.json (model_provenance)",
    copied=("architecture", "input_modalities"),
    related={"name": "checkpoint", "sha256": "checkpoint_sha256"},
    left_out={
        "id": "the row's number on the exporting site",
        "projects": "teams of the exporting site; the checkpoint itself stays there",
        "architecture_config": "the checkpoint stays on the exporting site; its name and sha256 identify it",
        "normalisation": "the checkpoint stays on the exporting site; its name and sha256 identify it",
        "input_size": "the checkpoint stays on the exporting site; its name and sha256 identify it",
        "hu_min": "the checkpoint stays on the exporting site; its name and sha256 identify it",
        "hu_max": "the checkpoint stays on the exporting site; its name and sha256 identify it",
        "contrast_enhanced": "the model dataset's contrast is archived (survey.json)",
        "weights": "the weights are not part of a study archive",
        "parameter_count": "the checkpoint stays on the exporting site; its name and sha256 identify it",
        "output_fingerprint": "the checkpoint stays on the exporting site; its name and sha256 identify it",
        "provenance": "the checkpoint stays on the exporting site; its name and sha256 identify it",
        "created_at": "when the exporting site registered the checkpoint",
        "created_by": "a person of the exporting site",
    },
)
ARCHIVED = (SYNTHETIC_SLICES, CHECKPOINTS)


def model_provenance(slice_ids: Iterable[int]) -> dict[int, dict]:
    """The provenance of each generated slice among `slice_ids`, by slice id (real slices have none)."""
    records = SyntheticSlice.objects.filter(output_id__in=list(slice_ids)).select_related("checkpoint")
    return {
        record.output_id: {
            "checkpoint": record.checkpoint.name,
            "checkpoint_sha256": record.checkpoint.sha256,
            **CHECKPOINTS.dump(record.checkpoint),
            **SYNTHETIC_SLICES.dump(record),
        }
        for record in records
    }
