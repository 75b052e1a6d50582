"""Small MRI datasets and checkpoints for generation tests."""

import io

import numpy as np
import torch

from generation.networks import MultimodalGenerator, ResnetGenerator
from generation.services import register_checkpoint
from imaging.services import store_volume
from imaging.volumes import VolumeData


def mri_volume(
    *, patient: str, modality: str, z_mm, size: int = 32, seed: int = 0, series: str = ""
) -> VolumeData:
    """A volume of smooth positive intensities (a bright disc on a dark background, varying by slice)."""
    rng = np.random.default_rng(seed)
    z = np.asarray(z_mm, dtype=np.float64)
    y, x = np.mgrid[:size, :size] / (size - 1) * 2 - 1
    disc = (x**2 + y**2 < 0.6).astype(np.float32)
    planes = [
        (disc * (400 + 30 * i) + 50 * np.sin(3 * x + i) + 60 + rng.normal(0, 5, (size, size))).astype(
            np.float32
        )
        for i in range(len(z))
    ]
    return VolumeData(
        patient=patient,
        modality=modality,
        series_key=series or f"{patient}-{modality}-{seed}-{size}",
        source_format="dicom",
        source_path="",
        pixels=np.maximum(np.stack(planes), 0).astype(np.float32),
        z_mm=z,
        row_spacing_mm=1.5,
        column_spacing_mm=1.5,
        orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
        sop_instance_uids=[
            f"1.2.826.0.1.3680043.10.1000.{abs(hash((patient, modality, seed))) % 10**8}.{i + 1}"
            for i in range(len(z))
        ],
    )


def make_mri_dataset(name: str, volumes: dict[tuple[str, str], list[float]], *, size: int = 32):
    """{(patient, modality): z positions} -> the stored volumes of an MRI dataset called `name`."""
    return [
        store_volume(
            dataset_name=name,
            kind="mr",
            contrast=None,
            data=mri_volume(patient=patient, modality=modality, z_mm=z, size=size, seed=seed),
        )
        for seed, ((patient, modality), z) in enumerate(volumes.items())
    ]


def pth_bytes(state_dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    return buffer.getvalue()


def small_resnet(seed: int = 0, *, input_nc: int = 1, ngf: int = 4, n_blocks: int = 1) -> ResnetGenerator:
    torch.manual_seed(seed)
    net = ResnetGenerator(input_nc, 1, ngf, n_blocks)
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
            torch.nn.init.normal_(module.weight, 0.0, 0.2)
    return net.eval()


def small_multimodal(n_inputs: int, seed: int = 0, ngf: int = 4) -> MultimodalGenerator:
    torch.manual_seed(seed)
    return MultimodalGenerator(n_inputs, 1, ngf, n_branch_blocks=1, n_decoder_blocks=1).eval()


def constant_output_generator(value: float, ngf: int = 4) -> ResnetGenerator:
    """A generator whose output is `value` everywhere: last conv weights zero, its bias atanh(value)."""
    net = small_resnet(ngf=ngf)
    last = net.model[-2]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(float(np.arctanh(value)))
    return net


def register_small(name: str = "small", *, net=None, inputs="t1_in", input_size: int = 32, **kwargs):
    net = net if net is not None else small_resnet()
    return register_checkpoint(
        name=name,
        data=pth_bytes(net.state_dict()),
        inputs=inputs,
        contrast=kwargs.pop("contrast", True),
        input_size=input_size,
        **kwargs,
    )
