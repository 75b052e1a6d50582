"""CycleGAN training with the paper's recipe. Pure PyTorch/NumPy, no Django.

Least-squares GAN losses, cycle-consistency weight 10, identity weight 0.5 (relative to the cycle weight)
where the generators map one channel to one channel (none for multimodal networks), a pool of the last 50
generated images for the discriminators, Adam at 2e-4 with betas (0.5, 0.999), the learning rate constant
for the first part of the run and then decaying linearly to zero, random crops and horizontal flips, and
unpaired sampling of the two domains.

A run lives in one folder: `state.pt` (everything needed to resume: networks, optimisers, image pools, random
number generator states, iteration), `losses.csv` (one row per logging interval), `losses.png`, `run.json`,
and at the end `generator_mri_to_ct.safetensors` / `generator_ct_to_mri.safetensors`. Starting a run in a
folder that has a state resumes it, refusing if the options differ.


The package holds one concept per module: `setups` (modalities and options), `data` (the domains in memory,
crops and flips), `image_pool`, `cyclegan` (networks, optimisers and losses), `run_folder` (state, logs,
plots) and `loop` (`train`). The names other code uses are re-exported here.
"""

from generation.training.cyclegan import LOSS_NAMES, CycleGAN
from generation.training.data import TrainingData, augment
from generation.training.image_pool import ImagePool
from generation.training.loop import train
from generation.training.run_folder import (
    BACKWARD_GENERATOR_FILE,
    GENERATOR_FILE,
    LOSSES_CSV,
    LOSSES_PNG,
    RUN_JSON,
    STATE_FILE,
    TrainingResult,
    plot_losses,
    read_losses,
)
from generation.training.setups import SETUPS, Setup, TrainingOptions, learning_rate, resolve_setup

__all__ = [
    "BACKWARD_GENERATOR_FILE",
    "GENERATOR_FILE",
    "LOSSES_CSV",
    "LOSSES_PNG",
    "LOSS_NAMES",
    "RUN_JSON",
    "SETUPS",
    "STATE_FILE",
    "CycleGAN",
    "ImagePool",
    "Setup",
    "TrainingData",
    "TrainingOptions",
    "TrainingResult",
    "augment",
    "learning_rate",
    "plot_losses",
    "read_losses",
    "resolve_setup",
    "train",
]
