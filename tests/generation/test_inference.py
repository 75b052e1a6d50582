import pytest
import torch

from generation.checkpoints import Architecture, fingerprint, fingerprint_input
from generation.inference import (
    GeneratorCache,
    GeneratorMismatch,
    load_generator,
    resolve_device,
    verify_fingerprint,
)
from generation.networks import ResnetGenerator
from generation.preprocessing import tanh_to_hu

CPU = torch.device("cpu")
ARCHITECTURE = Architecture("resnet", {"input_nc": 1, "output_nc": 1, "ngf": 4, "n_blocks": 1})


def weights(seed: int) -> dict:
    torch.manual_seed(seed)
    return dict(ResnetGenerator(**ARCHITECTURE.config).state_dict())


def expected_fingerprint(state_dict) -> dict:
    generator = load_generator(ARCHITECTURE, state_dict, device=CPU)
    return fingerprint(generator.forward(fingerprint_input(1, 32)))


def test_the_cache_loads_each_checkpoint_once_and_keeps_the_most_recent():
    cache = GeneratorCache(size=1)
    loaders = {
        name: (lambda s=seed: (ARCHITECTURE, weights(s), expected_fingerprint(weights(s))))
        for name, seed in (("a", 0), ("b", 1))
    }
    first = cache.get("a", device=CPU, precision="fp32", loader=loaders["a"])
    assert cache.get("a", device=CPU, precision="fp32", loader=loaders["a"]) is first
    assert cache.loads == 1
    cache.get("b", device=CPU, precision="fp32", loader=loaders["b"])
    cache.get("a", device=CPU, precision="fp32", loader=loaders["a"])
    assert cache.loads == 3  # "a" was evicted by "b"


def test_weights_that_no_longer_give_the_registered_output_are_refused():
    generator = load_generator(ARCHITECTURE, weights(0), device=CPU)
    assert verify_fingerprint(generator, expected_fingerprint(weights(0))) < 1e-6
    with pytest.raises(GeneratorMismatch, match="differs from the registered fingerprint"):
        verify_fingerprint(generator, expected_fingerprint(weights(1)))


def test_translate_resizes_each_modality_and_maps_to_hu_like_the_bare_forward_pass():
    generator = load_generator(ARCHITECTURE, weights(0), device=CPU)
    mri = torch.rand(3, 32, 32) * 2 - 1
    hu = generator.translate([mri], size=32, hu_min=-1024, hu_max=3071)
    with torch.no_grad():
        expected = tanh_to_hu(generator.model(mri.unsqueeze(1))[:, 0], -1024, 3071)
    assert hu.dtype == torch.int16 and hu.shape == (3, 32, 32)
    assert torch.equal(hu, expected)
    assert generator.translate([torch.rand(2, 48, 40)], size=32, hu_min=-1024, hu_max=3071).shape == (
        2,
        32,
        32,
    )


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "gpu0"])
def test_an_unknown_device_is_refused_in_one_line(name):
    with pytest.raises(ValueError, match=f"unknown device '{name}'"):
        resolve_device(name)


def test_auto_and_cpu_resolve_to_the_cpu_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert resolve_device("auto") == CPU == resolve_device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
