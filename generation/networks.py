"""CycleGAN networks for MRI-to-CT synthesis, in pure PyTorch (no Django, no I/O).

The single-input generator and the PatchGAN discriminator reproduce the layer order and state-dict keys of
pytorch-CycleGAN-and-pix2pix (`models/networks.py`) with instance norm (no affine parameters, no running
statistics, hence biased convolutions), no dropout and reflection padding, so `latest_net_G_A.pth` /
`latest_net_D_A.pth` files saved by that code load here with `load_state_dict(strict=True)`.

The multimodal pair follows section 3 of the paper: the MRI-to-CT generator has one encoder branch per MRI
modality (7x7 conv block, two downsamplings, four residual blocks) whose latents are fused into one; the
CT-to-MRI generator encodes one CT and decodes every MRI modality with its own head.

Spatial sizes must be multiples of 4 for a generator's output to match its input; a 256x256 slice gives
256x256 out of every generator and a 30x30 patch map out of the discriminator.
"""

import re
from collections.abc import Mapping

import torch
from torch import nn

N_DOWNSAMPLING = 2
"""Stride-2 downsamplings in every encoder (and transposed-conv upsamplings in every decoder)."""

# Four residual blocks per branch come from the paper; five after the fusion keep nine residual blocks on
# every path through a generator, as in the single-input ResnetGenerator.
MULTIMODAL_BRANCH_BLOCKS = 4
MULTIMODAL_SHARED_BLOCKS = 5


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters of `module` (trainable or not; buffers excluded)."""
    return sum(parameter.numel() for parameter in module.parameters())


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """Initialise `net` in place as the reference 'normal' init does, and return it.

    Convolution and linear weights ~ N(0, gain), their biases 0; normalisation layers with learnable affine
    parameters get weight ~ N(1, gain) and bias 0 (the instance norm used here has none).
    """
    for module in net.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(module.weight, 0.0, gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d | nn.InstanceNorm2d) and module.affine:
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
    return net


def _instance_norm(channels: int) -> nn.InstanceNorm2d:
    # The reference's norm='instance'; it has no affine shift, so the convolutions before it keep their bias.
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """Residual block: x + (pad, 3x3 conv, norm, ReLU, pad, 3x3 conv, norm)(x), channels unchanged."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, kernel_size=3, padding=0, bias=True),
            _instance_norm(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, kernel_size=3, padding=0, bias=True),
            _instance_norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


def _encoder_layers(input_nc: int, ngf: int, n_blocks: int) -> list[nn.Module]:
    """7x7 conv block, two stride-2 downsamplings, `n_blocks` residual blocks: input_nc -> 4*ngf channels."""
    layers: list[nn.Module] = [
        nn.ReflectionPad2d(3),
        nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=True),
        _instance_norm(ngf),
        nn.ReLU(True),
    ]
    for step in range(N_DOWNSAMPLING):
        channels = ngf * 2**step
        layers += [
            nn.Conv2d(channels, channels * 2, kernel_size=3, stride=2, padding=1, bias=True),
            _instance_norm(channels * 2),
            nn.ReLU(True),
        ]
    latent_channels = ngf * 2**N_DOWNSAMPLING
    layers += [ResnetBlock(latent_channels) for _ in range(n_blocks)]
    return layers


def _decoder_layers(output_nc: int, ngf: int, n_blocks: int) -> list[nn.Module]:
    """`n_blocks` residual blocks, two transposed-conv upsamplings, 7x7 conv, tanh: 4*ngf -> output_nc."""
    latent_channels = ngf * 2**N_DOWNSAMPLING
    layers: list[nn.Module] = [ResnetBlock(latent_channels) for _ in range(n_blocks)]
    for step in range(N_DOWNSAMPLING):
        channels = ngf * 2 ** (N_DOWNSAMPLING - step)
        layers += [
            nn.ConvTranspose2d(
                channels, channels // 2, kernel_size=3, stride=2, padding=1, output_padding=1, bias=True
            ),
            _instance_norm(channels // 2),
            nn.ReLU(True),
        ]
    layers += [
        nn.ReflectionPad2d(3),
        nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0),
        nn.Tanh(),
    ]
    return layers


class ResnetGenerator(nn.Module):
    """Johnson et al. generator, layer for layer as the reference `ResnetGenerator` (resnet_9blocks).

    7x7 conv block, two stride-2 downsamplings, `n_blocks` residual blocks at 4*ngf channels, two
    transposed-conv upsamplings, 7x7 conv, tanh; output in [-1, 1]. Keys run `model.1.*` (first conv) to
    `model.{n_blocks + 17}.*` (last conv), residual blocks at `model.10` ... `model.{n_blocks + 9}`.

    With 1 channel in and out, ngf=64 and 9 blocks it has 11,365,633 parameters.
    """

    def __init__(self, input_nc: int = 1, output_nc: int = 1, ngf: int = 64, n_blocks: int = 9):
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        self.model = nn.Sequential(
            *_encoder_layers(input_nc, ngf, n_blocks), *_decoder_layers(output_nc, ngf, n_blocks=0)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """PatchGAN discriminator as the reference `NLayerDiscriminator` with instance norm.

    4x4 convolutions with padding 1: `n_layers` with stride 2 (the first without norm), one with stride 1,
    then a stride-1 convolution to one channel; LeakyReLU(0.2) between them. No sigmoid: the scores are
    meant for the least-squares GAN loss. With n_layers=3 each output sees a 70x70 input window and a
    256x256 input gives a 30x30 map. With 1 input channel and ndf=64 it has 2,762,689 parameters (keys
    `model.0`, `model.2`, `model.5`, `model.8`, `model.11`).
    """

    def __init__(self, input_nc: int = 1, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        layers: list[nn.Module] = [
            nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        channels = ndf
        for layer in range(1, n_layers + 1):
            # Channel multiplier capped at 8 as in the reference; the last of these convolutions has stride 1.
            next_channels = ndf * min(2**layer, 8)
            stride = 2 if layer < n_layers else 1
            layers += [
                nn.Conv2d(channels, next_channels, kernel_size=4, stride=stride, padding=1, bias=True),
                _instance_norm(next_channels),
                nn.LeakyReLU(0.2, True),
            ]
            channels = next_channels
        layers.append(nn.Conv2d(channels, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ResnetEncoder(nn.Module):
    """Encoder half of `ResnetGenerator`: input_nc -> 4*ngf channels at a quarter of the size."""

    def __init__(self, input_nc: int = 1, ngf: int = 64, n_blocks: int = MULTIMODAL_BRANCH_BLOCKS):
        super().__init__()
        self.model = nn.Sequential(*_encoder_layers(input_nc, ngf, n_blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ResnetDecoder(nn.Module):
    """Decoder half of `ResnetGenerator`: 4*ngf channels -> output_nc at four times the size, in [-1, 1]."""

    def __init__(self, output_nc: int = 1, ngf: int = 64, n_blocks: int = MULTIMODAL_SHARED_BLOCKS):
        super().__init__()
        self.model = nn.Sequential(*_decoder_layers(output_nc, ngf, n_blocks))

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.model(latent)


class MultimodalGenerator(nn.Module):
    """MRI-to-CT generator with one encoder branch per MRI modality.

    Input (B, n_inputs, H, W): channel i goes to branch i (`ResnetEncoder` with `n_branch_blocks` residual
    blocks). The branch latents are concatenated and fused by a 1x1 conv + instance norm + ReLU into one
    latent of 4*ngf channels, then `ResnetDecoder` (`n_decoder_blocks` residual blocks, two upsamplings, 7x7
    conv, tanh) gives (B, output_nc, H, W) in [-1, 1].

    With ngf=64, 4 branch blocks, 5 decoder blocks and output_nc=1 it has 5,158,400 parameters per input
    (5,092,864 for its branch, 65,536 for its share of the fusion conv) plus 6,273,025 (fusion bias 256,
    decoder 6,272,769): 11,431,425 for 1 input, 16,589,825 for 2, 21,748,225 for 3.
    Keys: `branches.{i}.model.*`, `fusion.0.*`, `decoder.model.*`.
    """

    def __init__(
        self,
        n_inputs: int,
        output_nc: int = 1,
        ngf: int = 64,
        n_branch_blocks: int = MULTIMODAL_BRANCH_BLOCKS,
        n_decoder_blocks: int = MULTIMODAL_SHARED_BLOCKS,
    ):
        super().__init__()
        if n_inputs < 1:
            raise ValueError(f"n_inputs must be >= 1, got {n_inputs}")
        self.n_inputs = n_inputs
        latent_channels = ngf * 2**N_DOWNSAMPLING
        self.branches = nn.ModuleList(ResnetEncoder(1, ngf, n_branch_blocks) for _ in range(n_inputs))
        self.fusion = nn.Sequential(
            nn.Conv2d(n_inputs * latent_channels, latent_channels, kernel_size=1, bias=True),
            _instance_norm(latent_channels),
            nn.ReLU(True),
        )
        self.decoder = ResnetDecoder(output_nc, ngf, n_decoder_blocks)

    def forward(self, mri: torch.Tensor) -> torch.Tensor:
        if mri.dim() != 4 or mri.shape[1] != self.n_inputs:
            raise ValueError(
                f"expected MRI of shape (B, {self.n_inputs}, H, W), one channel per modality, "
                f"got {tuple(mri.shape)}"
            )
        latents = [branch(mri[:, i : i + 1]) for i, branch in enumerate(self.branches)]
        return self.decoder(self.fusion(torch.cat(latents, dim=1)))


class MultimodalBackwardGenerator(nn.Module):
    """CT-to-MRI generator: one shared encoder, one decoder head per MRI modality.

    Input (B, input_nc, H, W) (one CT channel); `ResnetEncoder` with `n_encoder_blocks` residual blocks
    gives one latent, each head (`ResnetDecoder` with `n_head_blocks` residual blocks) decodes one modality;
    output (B, n_outputs, H, W) in [-1, 1], channel i from head i. The defaults mirror
    `MultimodalGenerator`.

    With ngf=64, 5 encoder blocks and 4 head blocks it has 6,273,024 parameters for the encoder plus
    5,092,609 per head: 11,365,633 for 1 output (a ResnetGenerator cut after its fifth block), 16,458,242
    for 2, 21,550,851 for 3. Keys: `encoder.model.*`, `heads.{i}.model.*`.
    """

    def __init__(
        self,
        n_outputs: int,
        input_nc: int = 1,
        ngf: int = 64,
        n_encoder_blocks: int = MULTIMODAL_SHARED_BLOCKS,
        n_head_blocks: int = MULTIMODAL_BRANCH_BLOCKS,
    ):
        super().__init__()
        if n_outputs < 1:
            raise ValueError(f"n_outputs must be >= 1, got {n_outputs}")
        self.n_outputs = n_outputs
        self.encoder = ResnetEncoder(input_nc, ngf, n_encoder_blocks)
        self.heads = nn.ModuleList(ResnetDecoder(1, ngf, n_head_blocks) for _ in range(n_outputs))

    def forward(self, ct: torch.Tensor) -> torch.Tensor:
        latent = self.encoder(ct)
        return torch.cat([head(latent) for head in self.heads], dim=1)


# --- Architecture from a state dict -------------------------------------------------------------------------

_RUNNING_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def drop_instance_norm_running_stats(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Copy of `state_dict` without the running statistics of instance-norm layers.

    Checkpoints from reference versions whose instance norm tracked running statistics carry
    `<layer>.running_mean` / `running_var` / `num_batches_tracked` for norm layers without affine parameters;
    the networks here never use them. Statistics of layers that also have a `weight` (batch norm) are kept.
    """
    layers_with_weight = {key.rsplit(".", 1)[0] for key in state_dict if key.endswith(".weight")}
    return {
        key: value
        for key, value in state_dict.items()
        if not (
            key.rsplit(".", 1)[-1] in _RUNNING_STATISTICS and key.rsplit(".", 1)[0] not in layers_with_weight
        )
    }


_LAYOUT_DESCRIPTIONS = {
    "patchgan": "a PatchGAN discriminator",
    "resnet": "a single-input ResnetGenerator",
    "multimodal": "a multimodal MRI-to-CT generator",
    "multimodal_backward": "a multimodal CT-to-MRI (backward) generator",
    "multimodal_cyclegan": "a whole multimodal CycleGAN (pass one of its networks' state dicts)",
}


def _layout(state_dict: Mapping[str, torch.Tensor]) -> str | None:
    """Which network of this module the keys look like, judged by their distinctive first layers."""
    keys = set(state_dict)
    if any(key.startswith(("generator_mri_to_ct.", "generator_ct_to_mri.")) for key in keys):
        return "multimodal_cyclegan"
    if any(key.startswith("branches.") for key in keys):
        return "multimodal"
    if any(key.startswith(("encoder.", "heads.")) for key in keys):
        return "multimodal_backward"
    first_discriminator_conv = state_dict.get("model.0.weight")
    if first_discriminator_conv is not None and tuple(first_discriminator_conv.shape[-2:]) == (4, 4):
        return "patchgan"
    if "model.1.weight" in keys:
        return "resnet"
    return None


def _require_layout(state_dict: Mapping[str, torch.Tensor], wanted: str, wanted_name: str) -> None:
    if not state_dict:
        raise ValueError(f"state dict is empty, not {wanted_name}")
    layout = _layout(state_dict)
    if layout == "patchgan":
        raise ValueError("state dict looks like a PatchGAN discriminator, not a generator")
    if layout is None:
        raise ValueError(f"state dict is not {wanted_name}: unrecognised keys such as {min(state_dict)!r}")
    if layout != wanted:
        raise ValueError(f"state dict looks like {_LAYOUT_DESCRIPTIONS[layout]}, not {wanted_name}")
    statistics = sorted(key for key in state_dict if key.rsplit(".", 1)[-1] in _RUNNING_STATISTICS)
    if statistics:
        raise ValueError(
            f"state dict has normalisation running statistics ({statistics[0]!r}); instance-norm ones can be "
            "removed with drop_instance_norm_running_stats, batch-norm networks are not supported"
        )


def _block_count(state_dict: Mapping[str, torch.Tensor], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.conv_block\.1\.weight")
    return len({match.group(1) for key in state_dict if (match := pattern.fullmatch(key))})


def _shape(state_dict: Mapping[str, torch.Tensor], key: str, wanted_name: str) -> tuple[int, ...]:
    if key not in state_dict:
        raise ValueError(f"state dict is not {wanted_name}: missing key {key!r}")
    shape = tuple(state_dict[key].shape)
    if len(shape) != 4:
        raise ValueError(f"state dict is not {wanted_name}: {key!r} has shape {shape}, not a 2-D convolution")
    return shape


def _check_matches(state_dict: Mapping[str, torch.Tensor], expected: nn.Module, description: str) -> None:
    """Raise ValueError naming the first key or shape by which `state_dict` differs from `expected`'s."""
    expected_shapes = {key: tuple(tensor.shape) for key, tensor in expected.state_dict().items()}
    missing = [key for key in expected_shapes if key not in state_dict]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ValueError(f"state dict does not match {description}: missing key {missing[0]!r}{more}")
    unexpected = [key for key in state_dict if key not in expected_shapes]
    if unexpected:
        more = f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""
        raise ValueError(f"state dict does not match {description}: unexpected key {unexpected[0]!r}{more}")
    for key, shape in expected_shapes.items():
        found = tuple(state_dict[key].shape)
        if found != shape:
            raise ValueError(
                f"state dict does not match {description}: {key!r} has shape {found}, expected {shape}"
            )


def infer_resnet_generator_config(state_dict: Mapping[str, torch.Tensor]) -> dict[str, int]:
    """Architecture of a `ResnetGenerator` state dict from tensor shapes alone.

    Returns `{"input_nc", "output_nc", "ngf", "n_blocks"}` such that `ResnetGenerator(**config)` loads the
    state dict with strict=True. Raises ValueError with a one-line message naming the mismatch otherwise (a
    discriminator's or multimodal network's keys, a missing or unexpected key, a wrong shape).
    """
    name = "a ResnetGenerator"
    _require_layout(state_dict, "resnet", name)
    ngf, input_nc, *_ = _shape(state_dict, "model.1.weight", name)
    n_blocks = _block_count(state_dict, "model.")
    # Encoder: 4 layers + 3 per downsampling; after the blocks: 3 per upsampling, the pad, then the last conv.
    last_conv_index = 4 + 3 * N_DOWNSAMPLING + n_blocks + 3 * N_DOWNSAMPLING + 1
    output_nc, *_ = _shape(state_dict, f"model.{last_conv_index}.weight", name)
    config = {"input_nc": input_nc, "output_nc": output_nc, "ngf": ngf, "n_blocks": n_blocks}
    with torch.device("meta"):
        expected = ResnetGenerator(**config)
    _check_matches(state_dict, expected, f"ResnetGenerator({_arguments(config)})")
    return config


def infer_multimodal_generator_config(state_dict: Mapping[str, torch.Tensor]) -> dict[str, int]:
    """Architecture of a `MultimodalGenerator` (MRI-to-CT) state dict from tensor shapes alone.

    Returns `{"n_inputs", "output_nc", "ngf", "n_branch_blocks", "n_decoder_blocks"}` such that
    `MultimodalGenerator(**config)` loads the state dict with strict=True; raises ValueError with a one-line
    message naming the mismatch otherwise.
    """
    name = "a multimodal MRI-to-CT generator"
    _require_layout(state_dict, "multimodal", name)
    first_convs = re.compile(r"branches\.(\d+)\.model\.1\.weight")
    n_inputs = sum(1 for key in state_dict if first_convs.fullmatch(key))
    ngf, *_ = _shape(state_dict, "branches.0.model.1.weight", name)
    n_branch_blocks = _block_count(state_dict, "branches.0.model.")
    n_decoder_blocks = _block_count(state_dict, "decoder.model.")
    # Decoder: the blocks, 3 layers per upsampling, the pad, then the last conv.
    last_conv_index = n_decoder_blocks + 3 * N_DOWNSAMPLING + 1
    output_nc, *_ = _shape(state_dict, f"decoder.model.{last_conv_index}.weight", name)
    config = {
        "n_inputs": n_inputs,
        "output_nc": output_nc,
        "ngf": ngf,
        "n_branch_blocks": n_branch_blocks,
        "n_decoder_blocks": n_decoder_blocks,
    }
    with torch.device("meta"):
        expected = MultimodalGenerator(**config)
    _check_matches(state_dict, expected, f"MultimodalGenerator({_arguments(config)})")
    return config


def _arguments(config: Mapping[str, int]) -> str:
    return ", ".join(f"{key}={value}" for key, value in config.items())
