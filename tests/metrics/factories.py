"""CT datasets written straight into the image library (rows and pixel files), for the metrics tests."""

import uuid

import numpy as np
import scipy.ndimage

from imaging.models import Dataset, Slice, Volume
from imaging.pixels import save_slice_pixels, slice_storage_name
from imaging.services import share_dataset
from projects.services import ensure_default_project


def ct_slice(rng, size, soft_tissue_hu=40, bone_fraction=0.05):
    yy, xx = np.mgrid[:size, :size]
    body = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size * 0.4) ** 2
    hu = np.full((size, size), -1000, dtype=np.int16)
    hu[body] = soft_tissue_hu + rng.normal(0, 20, body.sum())
    hu[body & (rng.random((size, size)) < bone_fraction)] = 700
    return hu


def make_ct_dataset(
    name,
    *,
    kind=Dataset.Kind.REAL_CT,
    contrast=True,
    patients=4,
    layers=range(1, 11),
    slices_per_layer=3,
    size=32,
    seed=0,
    soft_tissue_hu=40,
    bone_fraction=0.05,
    smoothing=0.0,
    patient_prefix=None,
):
    """A dataset of ``patients`` volumes, each with ``slices_per_layer`` slices in every layer of ``layers``;
    ``smoothing`` > 0 blurs every slice with a Gaussian of that sigma (pixels); patients are named
    "<patient_prefix>-P<n>" (default: the dataset name's first 8 characters), so two datasets can share them."""
    dataset, _ = Dataset.objects.get_or_create(
        name=name, defaults={"kind": kind, "contrast_enhanced": contrast}
    )
    # Used by the default project, as a dataset imported without naming a project is.
    share_dataset(dataset=dataset, project=ensure_default_project())
    rng = np.random.default_rng(seed)
    for patient in range(patients):
        volume = Volume.objects.create(
            dataset=dataset,
            patient=f"{patient_prefix or name[:8]}-P{patient}",
            modality="ct",
            series_key=f"test-{uuid.uuid4()}",
            source_format=Volume.SourceFormat.GENERATED,
            rows=size,
            columns=size,
            row_spacing_mm=0.75,
            column_spacing_mm=0.75,
            slice_spacing_mm=3.0,
            orientation=[1, 0, 0, 0, 1, 0],
            slice_count=len(layers) * slices_per_layer,
        )
        slices = []
        for index in range(len(layers) * slices_per_layer):
            layer = list(layers)[index // slices_per_layer]
            hu = ct_slice(rng, size, soft_tissue_hu, bone_fraction)
            if smoothing:
                hu = np.rint(scipy.ndimage.gaussian_filter(hu.astype(np.float32), smoothing)).astype(np.int16)
            name_on_disk = save_slice_pixels(slice_storage_name(volume.uid, index), hu)
            slices.append(
                Slice(volume=volume, index=index, z_mm=3.0 * index, axial_layer=layer, pixels=name_on_disk)
            )
        Slice.objects.bulk_create(slices)
    return dataset


def block_mean_features(chunk):
    """A deterministic stand-in for the Inception features: a 4x4 grid of block means."""
    chunk = np.asarray(chunk, dtype=np.float64)
    n, h, w = chunk.shape
    return chunk.reshape(n, 4, h // 4, 4, w // 4).mean(axis=(2, 4)).reshape(n, 16)


def stand_in_extractor():
    return block_mean_features, None
