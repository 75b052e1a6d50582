"""The imaging part of `manage.py demo` (idempotent): phantom CT and MRI patients written as DICOM and imported
through the normal import path."""

from pathlib import Path

from imaging.phantoms import write_phantoms
from imaging.services import import_images

# (folder under the phantom root, dataset name, import options)
DEMO_IMPORTS = [
    ("CT", "Phantom CT (contrast)", {"kind": "ct", "contrast": True}),
    ("CT_noncontrast", "Phantom CT (non-contrast)", {"kind": "ct", "contrast": False}),
    ("MR", "Phantom MRI", {"kind": "mr"}),
]


class DemoImportFailed(RuntimeError):
    pass


def build_demo(*, stdout, root: Path, patients: int, seed: int) -> None:
    if not (root / "complete").exists():
        stdout.write(f"Writing {patients} phantom patients to {root} ...")
        write_phantoms(root, patients=patients, seed=seed)
        (root / "complete").write_text("phantoms written\n")
    for folder, dataset, options in DEMO_IMPORTS:
        report = import_images(path=root / folder, dataset_name=dataset, **options)
        if report.rejected:
            raise DemoImportFailed(f"demo import of {folder} rejected {report.rejected[0]}")
        stdout.write(
            f"{dataset}: {len(report.imported)} series imported, {len(report.duplicates)} already there"
        )
