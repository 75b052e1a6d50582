"""The CycleGAN of a run: its networks, optimisers, image pools and losses (least-squares GAN, cycle, identity)."""

import itertools

import numpy as np
import torch
from torch import nn

from generation.networks import (
    MultimodalBackwardGenerator,
    MultimodalGenerator,
    NLayerDiscriminator,
    ResnetGenerator,
    init_weights,
)
from generation.training.image_pool import ImagePool
from generation.training.setups import TrainingOptions

LOSS_NAMES = ("d_ct", "d_mri", "g_ct", "g_mri", "cycle_mri", "cycle_ct", "idt_ct", "idt_mri")


def _lsgan(scores: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(scores) if real else torch.zeros_like(scores)
    return nn.functional.mse_loss(scores, target)


class CycleGAN:
    """Both generators, the CT discriminator and one discriminator per MRI modality, with their optimisers."""

    def __init__(self, options: TrainingOptions, device: torch.device):
        self.options = options
        self.device = device
        n = len(options.inputs)
        if options.multimodal:
            self.generator_mri_to_ct: nn.Module = MultimodalGenerator(
                n, 1, options.ngf, n_branch_blocks=options.branch_blocks, n_decoder_blocks=options.n_blocks
            )
            self.generator_ct_to_mri: nn.Module = MultimodalBackwardGenerator(
                n, 1, options.ngf, n_encoder_blocks=options.n_blocks, n_head_blocks=options.branch_blocks
            )
        else:
            self.generator_mri_to_ct = ResnetGenerator(1, 1, options.ngf, options.n_blocks)
            self.generator_ct_to_mri = ResnetGenerator(1, 1, options.ngf, options.n_blocks)
        self.discriminator_ct = NLayerDiscriminator(1, options.ndf)
        self.discriminators_mri = nn.ModuleList(NLayerDiscriminator(1, options.ndf) for _ in range(n))
        for net in self.networks.values():
            init_weights(net).to(device).train()
        betas = (options.beta1, options.beta2)
        self.optimizer_g = torch.optim.Adam(
            itertools.chain(self.generator_mri_to_ct.parameters(), self.generator_ct_to_mri.parameters()),
            lr=options.lr,
            betas=betas,
        )
        self.optimizer_d = torch.optim.Adam(
            itertools.chain(self.discriminator_ct.parameters(), self.discriminators_mri.parameters()),
            lr=options.lr,
            betas=betas,
        )
        self.pool_ct = ImagePool(options.pool_size)
        self.pool_mri = ImagePool(options.pool_size)

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {
            "generator_mri_to_ct": self.generator_mri_to_ct,
            "generator_ct_to_mri": self.generator_ct_to_mri,
            "discriminator_ct": self.discriminator_ct,
            "discriminators_mri": self.discriminators_mri,
        }

    def _set_discriminators_trainable(self, trainable: bool) -> None:
        for net in (self.discriminator_ct, self.discriminators_mri):
            for parameter in net.parameters():
                parameter.requires_grad_(trainable)

    def step(
        self, mri: torch.Tensor, ct: torch.Tensor, lr: float, rng: np.random.Generator
    ) -> dict[str, float]:
        """One optimisation step of the generators, then of the discriminators; returns the losses."""
        options = self.options
        for optimizer in (self.optimizer_g, self.optimizer_d):
            for group in optimizer.param_groups:
                group["lr"] = lr
        fake_ct = self.generator_mri_to_ct(mri)
        reconstructed_mri = self.generator_ct_to_mri(fake_ct)
        fake_mri = self.generator_ct_to_mri(ct)
        reconstructed_ct = self.generator_mri_to_ct(fake_mri)

        self._set_discriminators_trainable(False)
        self.optimizer_g.zero_grad(set_to_none=True)
        loss_g_ct = _lsgan(self.discriminator_ct(fake_ct), True)
        loss_g_mri = sum(
            _lsgan(discriminator(fake_mri[:, i : i + 1]), True)
            for i, discriminator in enumerate(self.discriminators_mri)
        )
        loss_cycle_mri = nn.functional.l1_loss(reconstructed_mri, mri) * options.lambda_cycle
        loss_cycle_ct = nn.functional.l1_loss(reconstructed_ct, ct) * options.lambda_cycle
        loss_idt_ct = loss_idt_mri = torch.zeros((), device=self.device)
        if options.uses_identity:
            weight = options.lambda_cycle * options.lambda_identity
            loss_idt_ct = nn.functional.l1_loss(self.generator_mri_to_ct(ct), ct) * weight
            loss_idt_mri = nn.functional.l1_loss(self.generator_ct_to_mri(mri), mri) * weight
        loss_g = loss_g_ct + loss_g_mri + loss_cycle_mri + loss_cycle_ct + loss_idt_ct + loss_idt_mri
        loss_g.backward()
        self.optimizer_g.step()

        self._set_discriminators_trainable(True)
        self.optimizer_d.zero_grad(set_to_none=True)
        pooled_ct = self.pool_ct.query(fake_ct, rng)
        loss_d_ct = 0.5 * (
            _lsgan(self.discriminator_ct(ct), True) + _lsgan(self.discriminator_ct(pooled_ct), False)
        )
        pooled_mri = self.pool_mri.query(fake_mri, rng)
        loss_d_mri = sum(
            0.5
            * (
                _lsgan(discriminator(mri[:, i : i + 1]), True)
                + _lsgan(discriminator(pooled_mri[:, i : i + 1]), False)
            )
            for i, discriminator in enumerate(self.discriminators_mri)
        )
        (loss_d_ct + loss_d_mri).backward()
        self.optimizer_d.step()
        values = (
            loss_d_ct,
            loss_d_mri,
            loss_g_ct,
            loss_g_mri,
            loss_cycle_mri,
            loss_cycle_ct,
            loss_idt_ct,
            loss_idt_mri,
        )
        return {name: float(value.detach()) for name, value in zip(LOSS_NAMES, values, strict=True)}

    def state_dict(self) -> dict:
        return {
            "networks": {name: net.state_dict() for name, net in self.networks.items()},
            "optimizer_g": self.optimizer_g.state_dict(),
            "optimizer_d": self.optimizer_d.state_dict(),
            "pool_ct": [image.cpu() for image in self.pool_ct.images],
            "pool_mri": [image.cpu() for image in self.pool_mri.images],
        }

    def load_state_dict(self, state: dict) -> None:
        for name, net in self.networks.items():
            net.load_state_dict(state["networks"][name])
        self.optimizer_g.load_state_dict(state["optimizer_g"])
        self.optimizer_d.load_state_dict(state["optimizer_d"])
        self.pool_ct.images = [image.to(self.device) for image in state["pool_ct"]]
        self.pool_mri.images = [image.to(self.device) for image in state["pool_mri"]]
