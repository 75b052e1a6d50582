"""Which MRI modalities a CycleGAN is trained on (the paper's setups) and every option of a run."""

from dataclasses import asdict, dataclass

from generation.networks import (
    MULTIMODAL_BRANCH_BLOCKS,
)
from imaging.constants import HU_MAX, HU_MIN


@dataclass(frozen=True)
class Setup:
    """Which MRI modalities feed the generator, and which form the MRI domain of a single-input model."""

    name: str
    inputs: tuple[str, ...]
    mri_domain: tuple[str, ...]
    description: str


SETUPS: dict[str, Setup] = {
    setup.name: setup
    for setup in (
        Setup("in_phase", ("t1_in",), ("t1_in",), "single input: T1 in-phase"),
        Setup("all_in", ("t1_in",), ("t1_in", "t1_out"), "single input: T1 in-phase and out-of-phase pooled"),
        Setup("t2", ("t2",), ("t2",), "single input: T2"),
        Setup("in_n_out", ("t1_in", "t1_out"), ("t1_in", "t1_out"), "two inputs: T1 in-phase + out-of-phase"),
        Setup("triple", ("t1_in", "t1_out", "t2"), ("t1_in", "t1_out", "t2"), "three inputs: T1 in/out + T2"),
    )
}


def resolve_setup(name: str, inputs: tuple[str, ...] | None = None) -> Setup:
    """The named setup; 'custom' takes `inputs` (one input: a single-input model; more: multimodal)."""
    if name == "custom":
        if not inputs:
            raise ValueError("--setup custom needs --inputs, e.g. --inputs t1_out or --inputs t1_out,t2")
        return Setup("custom", tuple(inputs), tuple(inputs), f"custom: {', '.join(inputs)}")
    if name not in SETUPS:
        raise ValueError(f"--setup must be one of {', '.join([*SETUPS, 'custom'])}, not {name!r}")
    if inputs and tuple(inputs) != SETUPS[name].inputs:
        raise ValueError(f"--inputs is only for --setup custom ({name} uses {','.join(SETUPS[name].inputs)})")
    return SETUPS[name]


@dataclass(frozen=True)
class TrainingOptions:
    setup: str
    inputs: tuple[str, ...]
    ngf: int = 64
    ndf: int = 64
    n_blocks: int = 9  # single input: residual blocks; multimodal: blocks after the fusion
    branch_blocks: int = MULTIMODAL_BRANCH_BLOCKS
    image_size: int = 256
    crop_size: int = 256
    batch_size: int = 1
    iterations: int = 1000
    decay_iterations: int = 500
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    pool_size: int = 50
    seed: int = 0
    flip: bool = True
    normalisation: str = "percentile_0_5_99_5"
    hu_min: int = HU_MIN
    hu_max: int = HU_MAX
    log_every: int = 50
    save_every: int = 500

    def __post_init__(self):
        checks = [
            (self.ngf >= 1 and self.ndf >= 1, "--ngf and --ndf must be at least 1"),
            (self.n_blocks >= 0 and self.branch_blocks >= 0, "--n-blocks must not be negative"),
            (
                self.image_size % 4 == 0 and 16 <= self.image_size <= 2048,
                "--image-size must be a multiple of 4 in 16..2048",
            ),
            (
                self.crop_size % 4 == 0 and 16 <= self.crop_size <= self.image_size,
                "--crop-size must be a multiple of 4 in 16..--image-size",
            ),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
            (self.iterations >= 1, "the run needs at least one iteration"),
            (0 <= self.decay_iterations <= self.iterations, "decay iterations must be within the run"),
            (self.lr > 0, "--lr must be positive"),
            (self.lambda_cycle >= 0 and self.lambda_identity >= 0, "loss weights must not be negative"),
            (self.pool_size >= 0, "--pool-size must not be negative"),
            (self.log_every >= 1 and self.save_every >= 1, "--log-every and --save-every must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def multimodal(self) -> bool:
        return len(self.inputs) > 1

    @property
    def uses_identity(self) -> bool:
        return not self.multimodal and self.lambda_identity > 0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["inputs"] = list(self.inputs)
        return data


def learning_rate(options: TrainingOptions, iteration: int) -> float:
    """Constant until the decay starts, then linear towards zero (the reference's 'linear' policy)."""
    decay_start = options.iterations - options.decay_iterations
    passed = max(0, iteration - decay_start)
    return options.lr * (1.0 - passed / float(options.decay_iterations + 1))
