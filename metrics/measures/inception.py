"""The FID Inception-v3 in pure torch, for 2048-d pool3 features of CT slices.

FID is defined on the TensorFlow Inception graph of 2015-12-05; pytorch-fid ports its weights to the file
``pt_inception-2015-12-05-6726825d.pth`` for a patched torchvision ``Inception3``. This module rebuilds that
network without torchvision, with the same module names (``Conv2d_1a_3x3`` ... ``Mixed_7c``, each conv a
``BasicConv2d`` with ``conv`` and ``bn``), so the file's state dict loads strictly. The port differs from
torchvision's Inception in its pooling branches: average pools ignore the zero padding (TensorFlow's
behaviour) and the last block max-pools. Only the 2048-d features after global average pooling are kept;
the file's 1008-class ``fc`` layer is not needed for them and is dropped on loading.

The weights are a local file, never downloaded: pass its path or set ``FID_INCEPTION_WEIGHTS``.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from jobs.errors import first_line
from metrics.measures.distribution import HU_RANGE

FID_WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_ENV = "FID_INCEPTION_WEIGHTS"
INPUT_SIZE = 299
FEATURE_DIM = 2048
CLASSIFIER_KEYS = ("fc.weight", "fc.bias")

INCEPTION_WINDOW_HU = HU_RANGE
"""HU window mapped linearly to [0, 1] before the network: the whole clip range of the other metrics.

Nothing saturates (air, soft tissue, bone and metal stay distinct), and as the input stays in floating
point, with no 8-bit quantisation, the narrow soft-tissue range keeps its contrast.
"""


class InceptionWeightsError(ValueError):
    """A weights file that is not the FID Inception state dict; the message is one line saying why."""


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 0.001, as in TensorFlow) and ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **conv_options):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_options)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _tf_average_pool(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's 3x3 'SAME' average pool divides by the number of real (unpadded) pixels
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    """35x35 block (Mixed_5b/5c/5d): 1x1, 5x5, double 3x3 and pooled 1x1 branches."""

    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(_tf_average_pool(x))
        return torch.cat([self.branch1x1(x), branch5x5, branch3x3dbl, branch_pool], 1)


class InceptionB(nn.Module):
    """35x35 to 17x17 reduction (Mixed_6a)."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([self.branch3x3(x), branch3x3dbl, branch_pool], 1)


class FIDInceptionC(nn.Module):
    """17x17 block (Mixed_6b..6e) with factorised 7x7 convolutions of ``channels_7x7`` channels."""

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = x
        for conv in (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            branch7x7dbl = conv(branch7x7dbl)
        branch_pool = self.branch_pool(_tf_average_pool(x))
        return torch.cat([self.branch1x1(x), branch7x7, branch7x7dbl, branch_pool], 1)


class InceptionD(nn.Module):
    """17x17 to 8x8 reduction (Mixed_7a)."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = x
        for conv in (self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            branch7x7x3 = conv(branch7x7x3)
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([branch3x3, branch7x7x3, branch_pool], 1)


class FIDInceptionE(nn.Module):
    """8x8 block with split 1x3/3x1 branches: Mixed_7b pools by average (pytorch-fid's FIDInceptionE_1),
    Mixed_7c by max (FIDInceptionE_2), as the TensorFlow graph does."""

    def __init__(self, in_channels: int, pool: str):
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        if self.pool == "avg":
            pooled = _tf_average_pool(x)
        else:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), branch3x3, branch3x3dbl, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """Inception-v3 up to pool3: ``(n, 3, H, W)`` images in [0, 1] to ``(n, 2048)`` features.

    As in pytorch-fid, the input is resized to 299x299 (bilinear, ``align_corners=False``) and scaled
    to [-1, 1]. Randomly initialised; load the FID weights with :func:`load_fid_inception`.
    """

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280, pool="avg")
        self.Mixed_7c = FIDInceptionE(2048, pool="max")
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(images, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        for block in self.children():  # registration order above is the order of the network
            x = block(x)
        return torch.flatten(x, 1)


def hu_to_inception_input(
    hu: np.ndarray | torch.Tensor, window: tuple[int, int] = INCEPTION_WINDOW_HU
) -> torch.Tensor:
    """``(n, H, W)`` or ``(n, 1, H, W)`` HU to ``(n, 3, H, W)`` float32 in [0, 1].

    HU is clipped to ``window`` and mapped linearly to [0, 1]; the grey slice fills all three channels.
    """
    hu = torch.as_tensor(hu)
    if hu.ndim == 3:
        hu = hu[:, None]
    if hu.ndim != 4 or hu.shape[1] != 1:
        raise ValueError(f"expected (n, H, W) or (n, 1, H, W) HU slices, got shape {tuple(hu.shape)}")
    low, high = window
    scaled = (hu.to(torch.float32).clamp(low, high) - low) / (high - low)
    return scaled.expand(-1, 3, -1, -1)


def inception_features(
    model: FIDInceptionV3,
    hu_slices: np.ndarray,
    batch_size: int = 32,
    window: tuple[int, int] = INCEPTION_WINDOW_HU,
) -> np.ndarray:
    """Pool3 features, ``(n, 2048)`` float64, of ``(n, H, W)`` HU slices, on the model's device."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    features = []
    with torch.inference_mode():
        for start in range(0, len(hu_slices), batch_size):
            images = hu_to_inception_input(hu_slices[start : start + batch_size], window).to(device)
            features.append(model(images).to("cpu", torch.float64).numpy())
    model.train(was_training)
    return np.concatenate(features) if features else np.zeros((0, FEATURE_DIM))


def _named_keys(kind: str, keys: list[str]) -> str:
    more = f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""
    return f"{kind} key {keys[0]!r}{more}"


def load_fid_inception(path: str | os.PathLike | None = None) -> FIDInceptionV3:
    """The FID Inception with the pytorch-fid weights from a local file, in eval mode without gradients.

    ``path`` defaults to ``$FID_INCEPTION_WEIGHTS``. The file is read with ``weights_only=True`` and
    must hold exactly this network's state dict, apart from the unused ``fc`` classifier and the
    BatchNorm ``num_batches_tracked`` counters, which may be absent. Raises ``FileNotFoundError`` when the
    file is missing and :class:`InceptionWeightsError` when it is not that state dict.
    """
    how_to_get = (
        f"download {FID_WEIGHTS_FILENAME} once and set {FID_WEIGHTS_ENV}; it is never downloaded at run time"
    )
    if path is None:
        path = os.environ.get(FID_WEIGHTS_ENV)
        if not path:
            raise FileNotFoundError(f"FID Inception weights are not configured: {how_to_get}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FID Inception weights not found at {path}; {how_to_get}")
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # any failure to unpickle means the file is not a plain state dict
        raise InceptionWeightsError(f"{path} cannot be read as a state dict: {first_line(exc)}") from exc

    model = FIDInceptionV3()
    model.load_state_dict(_checked_state_dict(state, model.state_dict(), path), strict=True)
    model.eval()
    model.requires_grad_(False)
    return model


def _checked_state_dict(
    state: object, expected: Mapping[str, torch.Tensor], path: Path
) -> dict[str, torch.Tensor]:
    if not isinstance(state, Mapping):
        raise InceptionWeightsError(f"{path} holds a {type(state).__name__}, not a state dict")
    state = {key: value for key, value in state.items() if key not in CLASSIFIER_KEYS}
    missing = [key for key in expected if key not in state and not key.endswith("num_batches_tracked")]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        problems = [
            _named_keys(kind, keys)
            for kind, keys in (("missing", missing), ("unexpected", unexpected))
            if keys
        ]
        raise InceptionWeightsError(f"{path} is not the FID Inception state dict: {'; '.join(problems)}")
    for key, value in state.items():
        if not isinstance(value, torch.Tensor) or value.shape != expected[key].shape:
            found = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            wanted = tuple(expected[key].shape)
            raise InceptionWeightsError(
                f"{path} is not the FID Inception state dict: {key!r} is {found}, expected {wanted}"
            )
    for key, value in expected.items():
        state.setdefault(key, torch.zeros_like(value))  # only num_batches_tracked can still be absent
    return state
