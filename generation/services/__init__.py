"""Generation's writes, one module per concept: the checkpoint `registry`, generation `jobs` and their batch
`pipeline`, and `training` runs. The names other code uses are re-exported here."""

from generation.services.jobs import default_output_name, generate_now, run_generation_job, start_generation
from generation.services.registry import (
    GenerationError,
    checkpoint_architecture,
    load_checkpoint_weights,
    parse_inputs,
    register_checkpoint,
    software_version,
    weights_storage_name,
)
from generation.services.training import (
    TrainingError,
    create_training_run,
    queue_training,
    run_training,
    train_now,
)

__all__ = [
    "GenerationError",
    "TrainingError",
    "checkpoint_architecture",
    "create_training_run",
    "default_output_name",
    "generate_now",
    "load_checkpoint_weights",
    "parse_inputs",
    "queue_training",
    "register_checkpoint",
    "run_generation_job",
    "run_training",
    "software_version",
    "start_generation",
    "train_now",
    "weights_storage_name",
]
