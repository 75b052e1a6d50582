import numpy as np
import pytest
import torch
import torch.nn.functional as F

from metrics.measures.inception import (
    FID_WEIGHTS_ENV,
    FID_WEIGHTS_FILENAME,
    FIDInceptionV3,
    InceptionWeightsError,
    hu_to_inception_input,
    inception_features,
    load_fid_inception,
)


def inception_a(in_channels, pool_features):
    return [
        ("branch1x1", in_channels, 64, 1, 1),
        ("branch5x5_1", in_channels, 48, 1, 1),
        ("branch5x5_2", 48, 64, 5, 5),
        ("branch3x3dbl_1", in_channels, 64, 1, 1),
        ("branch3x3dbl_2", 64, 96, 3, 3),
        ("branch3x3dbl_3", 96, 96, 3, 3),
        ("branch_pool", in_channels, pool_features, 1, 1),
    ]


def inception_c(c7):
    return [
        ("branch1x1", 768, 192, 1, 1),
        ("branch7x7_1", 768, c7, 1, 1),
        ("branch7x7_2", c7, c7, 1, 7),
        ("branch7x7_3", c7, 192, 7, 1),
        ("branch7x7dbl_1", 768, c7, 1, 1),
        ("branch7x7dbl_2", c7, c7, 7, 1),
        ("branch7x7dbl_3", c7, c7, 1, 7),
        ("branch7x7dbl_4", c7, c7, 7, 1),
        ("branch7x7dbl_5", c7, 192, 1, 7),
        ("branch_pool", 768, 192, 1, 1),
    ]


def inception_e(in_channels):
    return [
        ("branch1x1", in_channels, 320, 1, 1),
        ("branch3x3_1", in_channels, 384, 1, 1),
        ("branch3x3_2a", 384, 384, 1, 3),
        ("branch3x3_2b", 384, 384, 3, 1),
        ("branch3x3dbl_1", in_channels, 448, 1, 1),
        ("branch3x3dbl_2", 448, 384, 3, 3),
        ("branch3x3dbl_3a", 384, 384, 1, 3),
        ("branch3x3dbl_3b", 384, 384, 3, 1),
        ("branch_pool", in_channels, 192, 1, 1),
    ]


# Every BasicConv2d of torchvision's Inception3 as pytorch-fid patches it: (name, in, out, kernel h, kernel w)
ARCHITECTURE = {
    "Conv2d_1a_3x3": [("", 3, 32, 3, 3)],
    "Conv2d_2a_3x3": [("", 32, 32, 3, 3)],
    "Conv2d_2b_3x3": [("", 32, 64, 3, 3)],
    "Conv2d_3b_1x1": [("", 64, 80, 1, 1)],
    "Conv2d_4a_3x3": [("", 80, 192, 3, 3)],
    "Mixed_5b": inception_a(192, 32),
    "Mixed_5c": inception_a(256, 64),
    "Mixed_5d": inception_a(288, 64),
    "Mixed_6a": [
        ("branch3x3", 288, 384, 3, 3),
        ("branch3x3dbl_1", 288, 64, 1, 1),
        ("branch3x3dbl_2", 64, 96, 3, 3),
        ("branch3x3dbl_3", 96, 96, 3, 3),
    ],
    "Mixed_6b": inception_c(128),
    "Mixed_6c": inception_c(160),
    "Mixed_6d": inception_c(160),
    "Mixed_6e": inception_c(192),
    "Mixed_7a": [
        ("branch3x3_1", 768, 192, 1, 1),
        ("branch3x3_2", 192, 320, 3, 3),
        ("branch7x7x3_1", 768, 192, 1, 1),
        ("branch7x7x3_2", 192, 192, 1, 7),
        ("branch7x7x3_3", 192, 192, 7, 1),
        ("branch7x7x3_4", 192, 192, 3, 3),
    ],
    "Mixed_7b": inception_e(1280),
    "Mixed_7c": inception_e(2048),
}

# Parameters per block (conv weights + batch-norm weight and bias), worked out from ARCHITECTURE by hand,
# e.g. Conv2d_1a_3x3: 3*32*9 + 2*32 = 928; Mixed_5c: convs 256*64 + 256*48 + 48*64*25 + 256*64 + 64*96*9
# + 96*96*9 + 256*64 = 276480, batch norms 2 * (64+48+64+64+96+96+64) = 992, 277472 in all.
PARAMETERS_PER_BLOCK = {
    "Conv2d_1a_3x3": 928,
    "Conv2d_2a_3x3": 9_280,
    "Conv2d_2b_3x3": 18_560,
    "Conv2d_3b_1x1": 5_280,
    "Conv2d_4a_3x3": 138_624,
    "Mixed_5b": 255_904,
    "Mixed_5c": 277_472,
    "Mixed_5d": 285_152,
    "Mixed_6a": 1_153_280,
    "Mixed_6b": 1_297_408,
    "Mixed_6c": 1_691_008,
    "Mixed_6d": 1_691_008,
    "Mixed_6e": 2_141_952,
    "Mixed_7a": 1_698_304,
    "Mixed_7b": 5_044_608,
    "Mixed_7c": 6_076_800,
}
# Keras reports InceptionV3(include_top=False) as 21,802,784 parameters of which 34,432 are batch-norm
# moving means and variances: its batch norms have no scale, so torch's count is 21,802,784 - 34,432 / 2.
KERAS_TOTAL, KERAS_BATCH_NORM_STATISTICS = 21_802_784, 34_432
FID_INCEPTION_PARAMETERS = 21_785_568

SPOT_CHECK_KEYS = [
    "Conv2d_1a_3x3.conv.weight",
    "Conv2d_1a_3x3.bn.weight",
    "Conv2d_1a_3x3.bn.bias",
    "Conv2d_1a_3x3.bn.running_mean",
    "Conv2d_1a_3x3.bn.running_var",
    "Conv2d_1a_3x3.bn.num_batches_tracked",
    "Conv2d_2b_3x3.conv.weight",
    "Conv2d_4a_3x3.bn.running_var",
    "Mixed_5b.branch1x1.conv.weight",
    "Mixed_5b.branch5x5_2.bn.bias",
    "Mixed_5b.branch_pool.conv.weight",
    "Mixed_5d.branch3x3dbl_3.bn.running_mean",
    "Mixed_6a.branch3x3.conv.weight",
    "Mixed_6a.branch3x3dbl_3.bn.weight",
    "Mixed_6b.branch7x7_2.conv.weight",
    "Mixed_6b.branch7x7dbl_5.bn.running_var",
    "Mixed_6c.branch7x7dbl_1.conv.weight",
    "Mixed_6d.branch7x7_3.bn.bias",
    "Mixed_6e.branch_pool.bn.running_mean",
    "Mixed_7a.branch3x3_2.conv.weight",
    "Mixed_7a.branch7x7x3_4.bn.num_batches_tracked",
    "Mixed_7b.branch1x1.conv.weight",
    "Mixed_7b.branch3x3_2a.conv.weight",
    "Mixed_7b.branch3x3dbl_3b.bn.weight",
    "Mixed_7c.branch3x3_2b.bn.running_mean",
    "Mixed_7c.branch3x3dbl_1.conv.weight",
    "Mixed_7c.branch3x3dbl_2.bn.bias",
    "Mixed_7c.branch3x3dbl_3a.conv.weight",
    "Mixed_7c.branch3x3dbl_3b.bn.running_var",
    "Mixed_7c.branch_pool.conv.weight",
]


def expected_shapes():
    shapes = {}
    for block, convs in ARCHITECTURE.items():
        for name, in_channels, out_channels, kernel_h, kernel_w in convs:
            prefix = f"{block}.{name}." if name else f"{block}."
            shapes[prefix + "conv.weight"] = (out_channels, in_channels, kernel_h, kernel_w)
            for buffer in ("weight", "bias", "running_mean", "running_var"):
                shapes[prefix + "bn." + buffer] = (out_channels,)
            shapes[prefix + "bn.num_batches_tracked"] = ()
    return shapes


@pytest.fixture(scope="module")
def model():
    """Random weights scaled to keep activations near unit size through all 94 convolutions
    (torch's default initialisation shrinks them to ~1e-6 by Mixed_7c, where any pooling looks alike)."""
    torch.manual_seed(0)
    network = FIDInceptionV3().eval()
    for module in network.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return network


def test_state_dict_has_the_keys_and_shapes_of_the_fid_inception(model):
    state = model.state_dict()
    expected = expected_shapes()
    assert len(expected) == 94 * 6
    assert set(state) == set(expected)
    assert {key: tuple(value.shape) for key, value in state.items()} == expected
    assert set(SPOT_CHECK_KEYS) <= set(state)
    assert not any(key.startswith(("fc.", "AuxLogits.")) for key in state)


def test_parameter_count_is_inception_v3_without_its_classifier(model):
    by_block = {
        block: sum(p.numel() for p in getattr(model, block).parameters()) for block in PARAMETERS_PER_BLOCK
    }
    assert by_block == PARAMETERS_PER_BLOCK
    total = sum(p.numel() for p in model.parameters())
    assert total == sum(PARAMETERS_PER_BLOCK.values()) == FID_INCEPTION_PARAMETERS
    batch_norm_channels = sum(out for convs in ARCHITECTURE.values() for _, _, out, _, _ in convs)
    assert 2 * batch_norm_channels == KERAS_BATCH_NORM_STATISTICS
    assert total + batch_norm_channels == KERAS_TOTAL


def test_random_model_gives_2048_features_for_hu_slices(model):
    hu = torch.randint(-1024, 2000, (2, 1, 256, 256), dtype=torch.int16)
    with torch.no_grad():
        features = model(hu_to_inception_input(hu))
    assert features.shape == (2, 2048)
    assert torch.isfinite(features).all()
    assert (features >= 0).all()  # pooled after ReLU
    assert features.std() > 0.1
    assert not torch.allclose(features[0], features[1])

    from_numpy = inception_features(model, hu[:, 0].numpy(), batch_size=1)
    assert from_numpy.shape == (2, 2048) and from_numpy.dtype == np.float64
    np.testing.assert_allclose(from_numpy, features.numpy(), rtol=1e-4, atol=1e-5)


def test_hu_window_maps_the_clip_range_to_unit_interval_on_three_equal_channels():
    hu = torch.tensor([[[-3000, -1024], [1023.5, 3071]], [[5000, 0], [-500, 2047]]])
    images = hu_to_inception_input(hu)
    assert images.shape == (2, 3, 2, 2) and images.dtype == torch.float32
    torch.testing.assert_close(images[0, 0], torch.tensor([[0.0, 0.0], [0.5, 1.0]]))
    assert images[1, 0, 0, 0] == 1.0
    assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 0], images[:, 2])
    with pytest.raises(ValueError, match="HU slices"):
        hu_to_inception_input(torch.zeros(2, 3, 4, 4))


def test_pooling_branches_follow_the_tensorflow_graph(model):
    block_inputs, pool_inputs = {}, {}
    handles = []
    for block in ("Mixed_5b", "Mixed_6b", "Mixed_7b", "Mixed_7c"):
        module = getattr(model, block)
        handles.append(
            module.register_forward_pre_hook(lambda _, args, b=block: block_inputs.update({b: args[0]}))
        )
        handles.append(
            module.branch_pool.register_forward_pre_hook(
                lambda _, args, b=block: pool_inputs.update({b: args[0]})
            )
        )
    try:
        with torch.no_grad():
            model(torch.rand(1, 3, 299, 299))
    finally:
        for handle in handles:
            handle.remove()

    for block in ("Mixed_5b", "Mixed_6b", "Mixed_7b"):
        x = block_inputs[block]
        torch.testing.assert_close(pool_inputs[block], F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))
        assert not torch.allclose(pool_inputs[block], F.avg_pool2d(x, 3, 1, 1, count_include_pad=True))
    x = block_inputs["Mixed_7c"]
    torch.testing.assert_close(pool_inputs["Mixed_7c"], F.max_pool2d(x, 3, 1, 1))


def published_layout(model, with_classifier=True):
    """A state dict laid out like the pytorch-fid file: the network, plus its 1008-class classifier."""
    state = {key: value.clone() for key, value in model.state_dict().items()}
    if with_classifier:
        state["fc.weight"] = torch.randn(1008, 2048)
        state["fc.bias"] = torch.randn(1008)
    return state


def test_saved_weights_load_strictly_into_an_eval_model_without_gradients(tmp_path):
    source = FIDInceptionV3()
    with torch.no_grad():
        for value in source.state_dict().values():
            value.copy_(torch.randint_like(value, 1, 100))  # unlike any initialisation, buffers included
    path = tmp_path / FID_WEIGHTS_FILENAME
    torch.save(published_layout(source), path)

    loaded = load_fid_inception(path)
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert not loaded.training
    assert not any(p.requires_grad for p in loaded.parameters())


def test_weights_path_defaults_to_the_environment(model, tmp_path, monkeypatch):
    path = tmp_path / "weights.pth"
    torch.save(published_layout(model, with_classifier=False), path)
    monkeypatch.setenv(FID_WEIGHTS_ENV, str(path))
    loaded = load_fid_inception()
    assert torch.equal(loaded.Mixed_7c.branch_pool.conv.weight, model.Mixed_7c.branch_pool.conv.weight)


def test_batch_norm_counters_may_be_absent(model, tmp_path):
    state = {k: v for k, v in published_layout(model).items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "weights.pth"
    torch.save(state, path)
    assert torch.equal(load_fid_inception(path).Conv2d_1a_3x3.conv.weight, model.Conv2d_1a_3x3.conv.weight)


def test_missing_weights_file_says_where_and_that_nothing_is_downloaded(tmp_path, monkeypatch):
    path = tmp_path / "nowhere" / FID_WEIGHTS_FILENAME
    with pytest.raises(FileNotFoundError) as error:
        load_fid_inception(path)
    message = str(error.value)
    assert str(path) in message and FID_WEIGHTS_FILENAME in message and FID_WEIGHTS_ENV in message
    assert "never downloaded" in message and "\n" not in message

    monkeypatch.delenv(FID_WEIGHTS_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=FID_WEIGHTS_ENV):
        load_fid_inception()


def test_wrong_keys_are_named_in_one_line(model, tmp_path):
    state = published_layout(model)
    state["Mixed_7c.branch3x3dbl_3b.bn.running_variance"] = state.pop(
        "Mixed_7c.branch3x3dbl_3b.bn.running_var"
    )
    path = tmp_path / "renamed.pth"
    torch.save(state, path)
    with pytest.raises(InceptionWeightsError) as error:
        load_fid_inception(path)
    message = str(error.value)
    assert "missing key 'Mixed_7c.branch3x3dbl_3b.bn.running_var'" in message
    assert "unexpected key 'Mixed_7c.branch3x3dbl_3b.bn.running_variance'" in message
    assert str(path) in message and "\n" not in message


def test_a_torchvision_state_dict_with_aux_logits_is_refused(model, tmp_path):
    state = published_layout(model)
    state["AuxLogits.fc.weight"] = torch.zeros(1000, 768)
    del state["Conv2d_1a_3x3.conv.weight"]
    path = tmp_path / "torchvision.pth"
    torch.save(state, path)
    with pytest.raises(InceptionWeightsError, match=r"missing key 'Conv2d_1a_3x3\.conv\.weight'.*AuxLogits"):
        load_fid_inception(path)


def test_wrong_shapes_are_named(model, tmp_path):
    state = published_layout(model)
    state["Mixed_6b.branch7x7_2.conv.weight"] = torch.zeros(128, 128, 7, 1)
    path = tmp_path / "transposed.pth"
    torch.save(state, path)
    with pytest.raises(
        InceptionWeightsError, match=r"'Mixed_6b\.branch7x7_2\.conv\.weight' is \(128, 128, 7, 1\)"
    ):
        load_fid_inception(path)


def test_a_file_that_is_not_a_state_dict_is_refused(tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(InceptionWeightsError, match="cannot be read"):
        load_fid_inception(garbage)

    tensor_only = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor_only)
    with pytest.raises(InceptionWeightsError, match="not a state dict"):
        load_fid_inception(tensor_only)
