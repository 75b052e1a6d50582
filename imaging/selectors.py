import uuid

from django.db.models import Count

from imaging.constants import CT
from imaging.models import Dataset, Volume


def volume_by_reference(reference: str) -> Volume | None:
    """A volume by its uid or, failing that, by its series key (SeriesInstanceUID); None if neither matches."""
    try:
        return Volume.objects.get(uid=uuid.UUID(reference))
    except (ValueError, Volume.DoesNotExist):
        pass
    matches = list(Volume.objects.filter(series_key=reference)[:2])
    return matches[0] if len(matches) == 1 else None


def datasets_with_counts():
    return Dataset.objects.annotate(volume_count=Count("volumes", distinct=True)).order_by("name")


def fields_of_view_mm(dataset: Dataset) -> list[float]:
    """The field of view of each CT volume of the dataset: its longer side in mm."""
    rows = Volume.objects.filter(dataset=dataset, modality=CT).values_list(
        "rows", "columns", "row_spacing_mm", "column_spacing_mm"
    )
    return [max(r * row_mm, c * column_mm) for r, c, row_mm, column_mm in rows]
