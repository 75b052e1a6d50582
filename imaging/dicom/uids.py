"""The UIDs the platform mints. Each is derived from what it names, so writing the same thing again (a phantom of
the same seed, a second export of a volume) gives the same UIDs, and nothing else ever gets them."""

from pydicom.uid import generate_uid

# Namespaces of the things that get UIDs. They are part of every UID minted: changing one changes UIDs that
# files already written carry.
PHANTOM = "blindread-phantom"  # (seed, patient, series or instance)
GENERATED_SLICE = "blindread-synthetic-slice"  # (synthetic volume uid, slice index): the stored slice
EXPORTED_VOLUME = "blindread-synthetic"  # (exported volume uid, study/series/frame/instance)
ARCHIVED_ITEM = "blindread-archive-item"  # (survey name or item public id, study/series/frame/instance)


def derived_uid(namespace: str, *parts: object) -> str:
    """A UID (pydicom's prefix, then digits of a SHA-512) determined by the namespace and the parts."""
    return generate_uid(entropy_srcs=[namespace, *(str(part) for part in parts)])


def phantom_uid(seed: int, patient: int, *parts: object) -> str:
    return derived_uid(PHANTOM, seed, patient, *parts)


def generated_slice_uid(volume_uid: object, index: int) -> str:
    """The SOP Instance UID of slice `index` of a generated volume, stored with the slice and kept by exports."""
    return derived_uid(GENERATED_SLICE, volume_uid, index)


def exported_volume_uid(volume_uid: object, *parts: object) -> str:
    return derived_uid(EXPORTED_VOLUME, volume_uid, *parts)


def archived_item_uid(*parts: object) -> str:
    """UIDs of a study archive's item images: new ones, never those of the slices the items were rendered from."""
    return derived_uid(ARCHIVED_ITEM, *parts)
