import csv
from collections import defaultdict

from django.core.management.base import BaseCommand, CommandError

from imaging.layers import LayerBounds
from imaging.selectors import volume_by_reference
from imaging.services import ImportArgumentError, set_axial_layers

COLUMNS = ("volume", "layer", "z_min", "z_max")


def read_bounds_csv(path: str) -> dict[str, list[LayerBounds]]:
    """Parse `volume,layer,z_min,z_max` rows (volume = uid or series key); raise ValueError naming the line."""
    bounds: dict[str, list[LayerBounds]] = defaultdict(list)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise ValueError(f"cannot open {path}: {exc.strerror}") from None
    with handle:
        try:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(
                    f"{path}: missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}"
                )
            for row in reader:
                line = reader.line_num
                try:
                    layer = int(row["layer"])
                    z_min, z_max = float(row["z_min"]), float(row["z_max"])
                except (TypeError, ValueError):
                    raise ValueError(
                        f"{path} line {line}: layer must be an integer, z_min/z_max numbers"
                    ) from None
                if not (row["volume"] or "").strip():
                    raise ValueError(f"{path} line {line}: empty volume")
                bounds[row["volume"].strip()].append(LayerBounds(layer, z_min, z_max))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ValueError(f"{path}: not a UTF-8 CSV file ({exc.__class__.__name__})") from None
    if not bounds:
        raise ValueError(f"{path}: no rows")
    return bounds


class Command(BaseCommand):
    help = "Set axial layers from a CSV of per-volume z bounds: volume,layer,z_min,z_max (mm, inclusive)."

    def add_arguments(self, parser):
        parser.add_argument("csv_path")

    def handle(self, *args, csv_path, **options):
        try:
            by_reference = read_bounds_csv(csv_path)
            by_volume = {}
            for reference, bounds in by_reference.items():
                volume = volume_by_reference(reference)
                if volume is None:
                    raise ValueError(f"no volume (or more than one) has uid or series key {reference!r}")
                by_volume.setdefault(volume, []).extend(bounds)
            counts = set_axial_layers(bounds_by_volume=by_volume)
        except (ValueError, ImportArgumentError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{counts['volumes']} volume(s) updated: {counts['slices_layered']} slices layered, "
            f"{counts['slices_unlayered']} outside every bound (no layer)"
        )
