"""Searching the site's PACS and queueing the import of the series an admin chose (an ImportJob that retrieves
them over WADO-RS and imports them through the one import path, de-identified before anything is stored)."""

from imaging.models import ImportJob
from imaging.pacs.client import FoundSeries, PacsError, SearchQuery, search
from imaging.services import ImportArgumentError, check_import_arguments, pacs_connection
from jobs.services import queue_job
from projects.models import Project
from projects.services import ensure_default_project

MAX_SERIES_PER_JOB = 500


def search_pacs(query: SearchQuery) -> list[FoundSeries]:
    """The series the PACS holds for the query; PacsError (one line) when it cannot be asked."""
    return search(pacs_connection(), query)


def create_pacs_import_job(
    *,
    series: list[tuple[str, str]],
    dataset_name: str,
    kind: str,
    modality: str | None,
    contrast: bool | None,
    actor,
    project: Project | None = None,
) -> ImportJob:
    """Queue the retrieval and import of the chosen (StudyInstanceUID, SeriesInstanceUID) pairs."""
    check_import_arguments(dataset_name=dataset_name, kind=kind, modality=modality, contrast=contrast)
    chosen = list(dict.fromkeys((str(study), str(series_uid)) for study, series_uid in series))
    if not chosen:
        raise ImportArgumentError("choose at least one series")
    if len(chosen) > MAX_SERIES_PER_JOB:
        raise ImportArgumentError(f"at most {MAX_SERIES_PER_JOB} series per import, not {len(chosen)}")
    if not pacs_connection().url:
        raise ImportArgumentError(str(PacsError("no PACS is configured (PACS_DICOMWEB_URL)")))
    return queue_job(
        ImportJob,
        actor=actor,
        details={"series": len(chosen), "source": "pacs"},
        dataset_name=dataset_name,
        kind=kind,
        modality=modality or "",
        contrast_enhanced=contrast,
        pacs_series=[list(pair) for pair in chosen],
        total=len(chosen),
        project=project or ensure_default_project(actor=actor),
    )
