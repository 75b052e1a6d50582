from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from generation.management import accept_negative_values
from generation.services import register_checkpoint
from generation.vocabulary import (
    DEFAULT_NORMALISATION,
    NORMALISATION_RULES,
    CheckpointRefused,
    parse_hu_range,
)
from imaging.constants import HU_MAX, HU_MIN


class Command(BaseCommand):
    help = (
        "Register an MRI-to-CT generator: a .pth state dict (loaded with weights_only=True) or a safetensors "
        "file. Its architecture is inferred from tensor shapes and checked against what you declare."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        return accept_negative_values(super().create_parser(prog_name, subcommand, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("file", help="The checkpoint file (.pth or .safetensors)")
        parser.add_argument("--name", required=True, help="Unique checkpoint name")
        parser.add_argument(
            "--inputs", required=True, help="MRI modalities in channel order: t1_in[,t1_out[,t2]]"
        )
        parser.add_argument("--ct-range", default=f"{HU_MIN},{HU_MAX}", help="HU that tanh -1 and +1 map to")
        contrast = parser.add_mutually_exclusive_group(required=True)
        contrast.add_argument("--contrast", dest="contrast", action="store_true", default=None)
        contrast.add_argument("--no-contrast", dest="contrast", action="store_false")
        parser.add_argument(
            "--arch",
            default="auto",
            help="auto, resnet, multimodal, or a reference name such as resnet_9blocks",
        )
        parser.add_argument(
            "--normalisation", choices=list(NORMALISATION_RULES), default=DEFAULT_NORMALISATION
        )
        parser.add_argument(
            "--input-size", type=int, default=256, help="Rows/columns the model takes (multiple of 4)"
        )
        parser.add_argument("--source", default="", help="Where the file came from, for provenance")

    def handle(
        self, *args, file, name, inputs, ct_range, contrast, arch, normalisation, input_size, source, **opts
    ):
        path = Path(file)
        try:
            if not path.is_file():
                raise CheckpointRefused(f"{path} is not a file")
            hu_range = parse_hu_range(ct_range)
            checkpoint = register_checkpoint(
                name=name,
                data=path.read_bytes(),
                inputs=inputs,
                contrast=contrast,
                hu_range=hu_range,
                arch=arch,
                normalisation=normalisation,
                input_size=input_size,
                provenance={"file": path.name, "source": source, "registered_by": "register_checkpoint"},
            )
        except (CheckpointRefused, ValueError, OSError) as exc:
            raise CommandError(f"refused {path.name}: {exc}") from None
        self.stdout.write(
            f"registered {checkpoint.name!r}: {checkpoint.architecture} {checkpoint.architecture_config}, "
            f"{checkpoint.parameter_count:,} parameters, inputs {','.join(checkpoint.input_modalities)}, "
            f"HU {checkpoint.hu_min}..{checkpoint.hu_max}, sha256 {checkpoint.sha256}"
        )
