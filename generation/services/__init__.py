"""Generation's writes, one module per concept: the checkpoint `registry`, generation `jobs` (starting them) and
`runs` (their runner) with their batch `pipeline`, and `training` runs.

Re-exported here are the names that start work, which web processes use; they do not import PyTorch. What does
the work (`runs`, `pipeline`, `training`) is imported from its module by workers, commands and the demo.
"""

from generation.services.jobs import default_output_name, generate_now, start_generation
from generation.services.registry import (
    GenerationError,
    parse_inputs,
    register_checkpoint,
    share_checkpoint,
    software_version,
    weights_storage_name,
)

__all__ = [
    "GenerationError",
    "default_output_name",
    "generate_now",
    "parse_inputs",
    "register_checkpoint",
    "share_checkpoint",
    "software_version",
    "start_generation",
    "weights_storage_name",
]
