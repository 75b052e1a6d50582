import io

import pytest
import torch
from torch import nn

from generation.networks import (
    MULTIMODAL_SHARED_BLOCKS,
    MultimodalBackwardGenerator,
    MultimodalGenerator,
    NLayerDiscriminator,
    ResnetGenerator,
    count_parameters,
    drop_instance_norm_running_stats,
    infer_multimodal_generator_config,
    infer_resnet_generator_config,
    init_weights,
)
from generation.training import CycleGAN, TrainingOptions

# --- Parameter counts written out layer by layer, independently of the modules ----------------------------


def conv_parameters(in_channels: int, out_channels: int, kernel: int, bias: bool = True) -> int:
    # Same count for Conv2d and ConvTranspose2d: in*out*k*k weights plus one bias per output channel.
    return in_channels * out_channels * kernel * kernel + (out_channels if bias else 0)


def residual_block_parameters(channels: int) -> int:
    return 2 * conv_parameters(channels, channels, 3)


def encoder_parameters(input_nc: int, ngf: int, n_blocks: int) -> int:
    return (
        conv_parameters(input_nc, ngf, 7)
        + conv_parameters(ngf, 2 * ngf, 3)
        + conv_parameters(2 * ngf, 4 * ngf, 3)
        + n_blocks * residual_block_parameters(4 * ngf)
    )


def decoder_parameters(output_nc: int, ngf: int, n_blocks: int) -> int:
    return (
        n_blocks * residual_block_parameters(4 * ngf)
        + conv_parameters(4 * ngf, 2 * ngf, 3)
        + conv_parameters(2 * ngf, ngf, 3)
        + conv_parameters(ngf, output_nc, 7)
    )


def patchgan_parameters(input_nc: int, ndf: int) -> int:
    return (
        conv_parameters(input_nc, ndf, 4)
        + conv_parameters(ndf, 2 * ndf, 4)
        + conv_parameters(2 * ndf, 4 * ndf, 4)
        + conv_parameters(4 * ndf, 8 * ndf, 4)
        + conv_parameters(8 * ndf, 1, 4)
    )


def multimodal_forward_parameters(n_inputs: int, ngf: int = 64) -> int:
    fusion = conv_parameters(n_inputs * 4 * ngf, 4 * ngf, 1)
    return n_inputs * encoder_parameters(1, ngf, 4) + fusion + decoder_parameters(1, ngf, 5)


def multimodal_backward_parameters(n_outputs: int, ngf: int = 64) -> int:
    return encoder_parameters(1, ngf, 5) + n_outputs * decoder_parameters(1, ngf, 4)


def reference_generator_keys(n_blocks: int) -> list[str]:
    """Keys of the reference resnet generator: 0 pad, 1 conv, 2 norm, 3 relu, then (conv, norm, relu) twice,
    the blocks from index 10 (pad, conv, norm, relu, pad, conv, norm inside), (convT, norm, relu) twice,
    pad, conv."""
    keys = [
        "model.1.weight",
        "model.1.bias",
        "model.4.weight",
        "model.4.bias",
        "model.7.weight",
        "model.7.bias",
    ]
    for block in range(10, 10 + n_blocks):
        keys += [
            f"model.{block}.conv_block.1.weight",
            f"model.{block}.conv_block.1.bias",
            f"model.{block}.conv_block.5.weight",
            f"model.{block}.conv_block.5.bias",
        ]
    first_upsampling = 10 + n_blocks
    keys += [
        f"model.{first_upsampling}.weight",
        f"model.{first_upsampling}.bias",
        f"model.{first_upsampling + 3}.weight",
        f"model.{first_upsampling + 3}.bias",
        f"model.{first_upsampling + 7}.weight",
        f"model.{first_upsampling + 7}.bias",
    ]
    return keys


@pytest.fixture(scope="module")
def full_generator() -> ResnetGenerator:
    return ResnetGenerator()


def test_count_parameters_counts_weights_and_biases():
    assert count_parameters(nn.Linear(3, 2)) == 8


# --- ResnetGenerator ---------------------------------------------------------------------------------------


def test_the_paper_generator_has_11_365_633_parameters(full_generator):
    assert encoder_parameters(1, 64, 9) + decoder_parameters(1, 64, 0) == 11_365_633
    assert count_parameters(full_generator) == 11_365_633


def test_generator_state_dict_keys_are_the_reference_keys_in_order(full_generator):
    expected = reference_generator_keys(9)
    assert expected[:4] == ["model.1.weight", "model.1.bias", "model.4.weight", "model.4.bias"]
    assert expected[6] == "model.10.conv_block.1.weight"
    assert expected[-2:] == ["model.26.weight", "model.26.bias"]
    assert list(full_generator.state_dict()) == expected


def test_generator_tensor_shapes_are_the_reference_shapes(full_generator):
    shapes = {key: tuple(tensor.shape) for key, tensor in full_generator.state_dict().items()}
    assert shapes["model.1.weight"] == (64, 1, 7, 7)
    assert shapes["model.4.weight"] == (128, 64, 3, 3)
    assert shapes["model.7.weight"] == (256, 128, 3, 3)
    assert shapes["model.18.conv_block.5.weight"] == (256, 256, 3, 3)
    assert shapes["model.19.weight"] == (256, 128, 3, 3)  # ConvTranspose2d stores (in, out, k, k)
    assert shapes["model.22.weight"] == (128, 64, 3, 3)
    assert shapes["model.26.weight"] == (1, 64, 7, 7)
    assert shapes["model.26.bias"] == (1,)


def test_generator_has_no_buffers_so_reference_checkpoints_need_nothing_extra(full_generator):
    assert list(full_generator.buffers()) == []


@pytest.mark.parametrize("n_blocks", [0, 3, 6])
def test_generator_keys_follow_the_reference_layout_for_other_block_counts(n_blocks):
    assert list(ResnetGenerator(ngf=2, n_blocks=n_blocks).state_dict()) == reference_generator_keys(n_blocks)


def test_generator_maps_a_256_slice_to_a_256_slice_in_minus_one_to_one():
    torch.manual_seed(0)
    generator = ResnetGenerator(ngf=8, n_blocks=2).eval()
    with torch.no_grad():
        output = generator(torch.randn(2, 1, 256, 256) * 5)
    assert output.shape == (2, 1, 256, 256)
    assert output.abs().max() <= 1.0
    assert output.std() > 0


def test_generator_state_dict_round_trips_through_torch_save_and_strict_load():
    torch.manual_seed(0)
    saved = ResnetGenerator(ngf=8, n_blocks=3).eval()
    buffer = io.BytesIO()
    torch.save(saved.state_dict(), buffer)
    buffer.seek(0)
    state_dict = torch.load(buffer, weights_only=True)

    loaded = ResnetGenerator(**infer_resnet_generator_config(state_dict)).eval()
    loaded.load_state_dict(state_dict, strict=True)

    mri = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(mri), saved(mri))


# --- NLayerDiscriminator -----------------------------------------------------------------------------------


def test_the_patchgan_has_2_762_689_parameters_for_one_channel():
    assert patchgan_parameters(1, 64) == 2_762_689
    assert count_parameters(NLayerDiscriminator()) == 2_762_689


def test_patchgan_state_dict_keys_are_the_reference_keys():
    expected = [f"model.{index}.{name}" for index in (0, 2, 5, 8, 11) for name in ("weight", "bias")]
    assert list(NLayerDiscriminator(ndf=4).state_dict()) == expected


def test_patchgan_maps_a_256_slice_to_a_30_by_30_patch_map():
    discriminator = NLayerDiscriminator(ndf=8)
    with torch.no_grad():
        assert discriminator(torch.randn(2, 1, 256, 256)).shape == (2, 1, 30, 30)


def test_one_patchgan_output_depends_on_exactly_a_70_by_70_input_window():
    torch.manual_seed(0)
    discriminator = NLayerDiscriminator(ndf=4).double()
    # Instance-norm statistics couple every location to every other; the receptive field is the conv stack's.
    for index, layer in enumerate(discriminator.model):
        if isinstance(layer, nn.InstanceNorm2d):
            discriminator.model[index] = nn.Identity()
    image = torch.randn(1, 1, 256, 256, dtype=torch.float64, requires_grad=True)
    discriminator(image)[0, 0, 15, 15].backward()

    rows, columns = torch.nonzero(image.grad[0, 0], as_tuple=True)
    # Output j starts at input 8*j - 23 (strides 2, 2, 2, 1, 1, padding 1 each).
    assert (rows.min().item(), rows.max().item()) == (97, 166)
    assert (columns.min().item(), columns.max().item()) == (97, 166)
    assert rows.numel() == 70 * 70


# --- Multimodal networks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_inputs", "expected"), [(1, 11_431_425), (2, 16_589_825), (3, 21_748_225)], ids=["1", "2", "3"]
)
def test_multimodal_forward_generator_parameter_count(n_inputs, expected):
    assert multimodal_forward_parameters(n_inputs) == expected
    with torch.device("meta"):
        assert count_parameters(MultimodalGenerator(n_inputs)) == expected


@pytest.mark.parametrize(
    ("n_outputs", "expected"), [(1, 11_365_633), (2, 16_458_242), (3, 21_550_851)], ids=["1", "2", "3"]
)
def test_multimodal_backward_generator_parameter_count(n_outputs, expected):
    assert multimodal_backward_parameters(n_outputs) == expected
    with torch.device("meta"):
        assert count_parameters(MultimodalBackwardGenerator(n_outputs)) == expected


@pytest.mark.parametrize("n_inputs", [1, 2, 3])
def test_multimodal_forward_generator_maps_modalities_to_one_ct_slice(n_inputs):
    torch.manual_seed(0)
    generator = MultimodalGenerator(n_inputs, ngf=4, n_branch_blocks=1, n_decoder_blocks=1).eval()
    with torch.no_grad():
        ct = generator(torch.randn(2, n_inputs, 256, 256) * 5)
    assert ct.shape == (2, 1, 256, 256)
    assert ct.abs().max() <= 1.0


@pytest.mark.parametrize("n_outputs", [1, 2, 3])
def test_multimodal_backward_generator_maps_one_ct_slice_to_every_modality(n_outputs):
    torch.manual_seed(0)
    generator = MultimodalBackwardGenerator(n_outputs, ngf=4, n_encoder_blocks=1, n_head_blocks=1).eval()
    with torch.no_grad():
        mri = generator(torch.randn(2, 1, 64, 64) * 5)
    assert mri.shape == (2, n_outputs, 64, 64)
    assert mri.abs().max() <= 1.0


def test_multimodal_forward_generator_sends_channel_i_to_branch_i():
    generator = MultimodalGenerator(3, ngf=4, n_branch_blocks=0, n_decoder_blocks=0).eval()
    seen = {}
    for index, branch in enumerate(generator.branches):
        branch.register_forward_hook(lambda module, args, output, index=index: seen.update({index: args[0]}))
    mri = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        generator(mri)
    for index in range(3):
        assert torch.equal(seen[index], mri[:, index : index + 1])


def test_multimodal_backward_generator_output_channel_i_comes_from_head_i():
    torch.manual_seed(0)
    generator = MultimodalBackwardGenerator(2, ngf=4, n_encoder_blocks=0, n_head_blocks=0).eval()
    ct = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        latent = generator.encoder(ct)
        output = generator(ct)
        assert torch.equal(output[:, 1:2], generator.heads[1](latent))
        assert not torch.equal(output[:, 0:1], output[:, 1:2])


def test_multimodal_forward_generator_refuses_the_wrong_number_of_modalities():
    generator = MultimodalGenerator(2, ngf=4, n_branch_blocks=0, n_decoder_blocks=0)
    with pytest.raises(ValueError, match=r"expected MRI of shape \(B, 2, H, W\)"):
        generator(torch.randn(1, 3, 32, 32))


@pytest.mark.parametrize("n_inputs", [2, 3])
def test_a_multimodal_cyclegan_has_a_discriminator_per_domain_and_mirrored_generators(n_inputs):
    inputs = ("t1_in", "t1_out", "t2")[:n_inputs]
    options = TrainingOptions(
        setup="custom",
        inputs=inputs,
        n_blocks=MULTIMODAL_SHARED_BLOCKS,
        image_size=32,
        crop_size=32,
        iterations=1,
        decay_iterations=0,
    )
    cyclegan = CycleGAN(options, torch.device("cpu"))
    assert len(cyclegan.discriminators_mri) == n_inputs
    assert count_parameters(cyclegan.discriminator_ct) == 2_762_689
    assert count_parameters(cyclegan.generator_mri_to_ct) == multimodal_forward_parameters(n_inputs)
    assert count_parameters(cyclegan.generator_ct_to_mri) == multimodal_backward_parameters(n_inputs)
    assert len(cyclegan.generator_mri_to_ct.branches) == n_inputs
    assert len(cyclegan.generator_ct_to_mri.heads) == n_inputs


# --- Weight initialisation ---------------------------------------------------------------------------------


def test_init_weights_draws_conv_weights_from_n_0_002_and_zeroes_biases():
    torch.manual_seed(0)
    generator = init_weights(ResnetGenerator(ngf=16, n_blocks=2), gain=0.02)
    convolutions = [m for m in generator.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    weights = torch.cat([conv.weight.flatten() for conv in convolutions])
    assert weights.std().item() == pytest.approx(0.02, rel=0.05)
    assert weights.mean().abs().item() < 0.001
    assert all(torch.count_nonzero(conv.bias) == 0 for conv in convolutions)


# --- Architecture from a state dict ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"input_nc": 1, "output_nc": 1, "ngf": 64, "n_blocks": 9},
        {"input_nc": 1, "output_nc": 1, "ngf": 8, "n_blocks": 6},
        {"input_nc": 3, "output_nc": 3, "ngf": 4, "n_blocks": 9},
        {"input_nc": 2, "output_nc": 1, "ngf": 16, "n_blocks": 3},
        {"input_nc": 1, "output_nc": 2, "ngf": 4, "n_blocks": 0},
    ],
    ids=lambda config: "-".join(str(value) for value in config.values()),
)
def test_resnet_generator_config_is_inferred_from_tensor_shapes(config):
    with torch.device("meta"):
        state_dict = ResnetGenerator(**config).state_dict()
    assert infer_resnet_generator_config(state_dict) == config


@pytest.mark.parametrize(
    "config",
    [
        {"n_inputs": 2, "output_nc": 1, "ngf": 64, "n_branch_blocks": 4, "n_decoder_blocks": 5},
        {"n_inputs": 3, "output_nc": 1, "ngf": 64, "n_branch_blocks": 4, "n_decoder_blocks": 5},
        {"n_inputs": 1, "output_nc": 1, "ngf": 8, "n_branch_blocks": 2, "n_decoder_blocks": 0},
        {"n_inputs": 3, "output_nc": 2, "ngf": 4, "n_branch_blocks": 0, "n_decoder_blocks": 3},
    ],
    ids=lambda config: "-".join(str(value) for value in config.values()),
)
def test_multimodal_generator_config_is_inferred_from_tensor_shapes(config):
    with torch.device("meta"):
        state_dict = MultimodalGenerator(**config).state_dict()
    assert infer_multimodal_generator_config(state_dict) == config


def test_inferred_multimodal_config_loads_the_state_dict_strictly():
    torch.manual_seed(0)
    saved = MultimodalGenerator(2, ngf=4, n_branch_blocks=1, n_decoder_blocks=2).eval()
    buffer = io.BytesIO()
    torch.save(saved.state_dict(), buffer)
    buffer.seek(0)
    state_dict = torch.load(buffer, weights_only=True)

    loaded = MultimodalGenerator(**infer_multimodal_generator_config(state_dict)).eval()
    loaded.load_state_dict(state_dict, strict=True)
    mri = torch.randn(1, 2, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(mri), saved(mri))


def small_generator_state_dict() -> dict[str, torch.Tensor]:
    return dict(ResnetGenerator(ngf=4, n_blocks=2).state_dict())


def refusal(infer, state_dict) -> str:
    with pytest.raises(ValueError) as raised:
        infer(state_dict)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_a_discriminator_is_refused_as_a_generator():
    state_dict = NLayerDiscriminator(ndf=4).state_dict()
    expected = "state dict looks like a PatchGAN discriminator, not a generator"
    assert refusal(infer_resnet_generator_config, state_dict) == expected
    assert refusal(infer_multimodal_generator_config, state_dict) == expected


def test_a_multimodal_generator_is_refused_as_a_resnet_generator():
    state_dict = MultimodalGenerator(2, ngf=4, n_branch_blocks=0, n_decoder_blocks=0).state_dict()
    assert refusal(infer_resnet_generator_config, state_dict) == (
        "state dict looks like a multimodal MRI-to-CT generator, not a ResnetGenerator"
    )


def test_a_resnet_generator_is_refused_as_a_multimodal_generator():
    assert refusal(infer_multimodal_generator_config, small_generator_state_dict()) == (
        "state dict looks like a single-input ResnetGenerator, not a multimodal MRI-to-CT generator"
    )


def test_a_backward_generator_is_refused_as_a_forward_generator():
    state_dict = MultimodalBackwardGenerator(2, ngf=4, n_encoder_blocks=0, n_head_blocks=0).state_dict()
    assert "multimodal CT-to-MRI (backward) generator" in refusal(
        infer_multimodal_generator_config, state_dict
    )


def test_an_empty_state_dict_is_refused():
    assert refusal(infer_resnet_generator_config, {}) == "state dict is empty, not a ResnetGenerator"


def test_a_state_dict_without_its_last_conv_is_refused_naming_the_key():
    state_dict = small_generator_state_dict()
    del state_dict["model.19.weight"]
    assert "missing key 'model.19.weight'" in refusal(infer_resnet_generator_config, state_dict)


def test_a_state_dict_with_a_missing_bias_is_refused_naming_the_key():
    state_dict = small_generator_state_dict()
    del state_dict["model.4.bias"]
    message = refusal(infer_resnet_generator_config, state_dict)
    assert message == (
        "state dict does not match ResnetGenerator(input_nc=1, output_nc=1, ngf=4, n_blocks=2): "
        "missing key 'model.4.bias'"
    )


def test_a_state_dict_with_an_extra_key_is_refused_naming_the_key():
    state_dict = small_generator_state_dict()
    state_dict["model.2.weight"] = torch.ones(4)
    assert "unexpected key 'model.2.weight'" in refusal(infer_resnet_generator_config, state_dict)


def test_a_state_dict_with_a_wrong_shape_is_refused_naming_key_and_shapes():
    state_dict = small_generator_state_dict()
    state_dict["model.4.weight"] = torch.zeros(8, 5, 3, 3)
    assert refusal(infer_resnet_generator_config, state_dict).endswith(
        "'model.4.weight' has shape (8, 5, 3, 3), expected (8, 4, 3, 3)"
    )


def test_unrecognised_keys_are_refused():
    message = refusal(infer_resnet_generator_config, {"fc.weight": torch.zeros(2, 2)})
    assert message == "state dict is not a ResnetGenerator: unrecognised keys such as 'fc.weight'"


def test_running_statistics_are_refused_and_instance_norm_ones_can_be_dropped():
    clean = small_generator_state_dict()
    with_statistics = dict(clean)
    with_statistics["model.2.running_mean"] = torch.zeros(4)
    with_statistics["model.2.running_var"] = torch.ones(4)
    with_statistics["model.10.conv_block.2.num_batches_tracked"] = torch.tensor(0)

    assert "running statistics ('model.10.conv_block.2.num_batches_tracked')" in refusal(
        infer_resnet_generator_config, with_statistics
    )
    dropped = drop_instance_norm_running_stats(with_statistics)
    assert list(dropped) == list(clean)
    assert infer_resnet_generator_config(dropped)["n_blocks"] == 2


def test_batch_norm_statistics_are_kept_by_the_instance_norm_cleanup():
    state_dict = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).state_dict()
    assert drop_instance_norm_running_stats(state_dict).keys() == state_dict.keys()
