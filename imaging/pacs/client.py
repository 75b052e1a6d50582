"""A PACS spoken to over DICOMweb: QIDO-RS to find series, WADO-RS to retrieve one. Pure dicomweb-client and
requests; every failure (unreachable, a refused credential, an HTTP error, an answer that is not DICOM) is a
PacsError whose message is one line. Nothing here keeps a patient's identity: a search result holds what the admin
chooses by (date, modality, series number, size), and retrieved files go to the caller's private folder."""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dicomweb_client.api import DICOMwebClient


class PacsError(Exception):
    """The PACS could not be asked or did not answer as expected; the message is one line."""


@dataclass(frozen=True)
class PacsConnection:
    url: str
    username: str = ""
    password: str = ""
    timeout_s: float = 30.0


@dataclass(frozen=True)
class FoundSeries:
    """A series the search found: its UIDs (to retrieve it; never stored past the import) and what an admin chooses
    it by."""

    study_uid: str
    series_uid: str
    modality: str
    series_number: str
    study_date: str
    description: str
    instances: int


@dataclass(frozen=True)
class SearchQuery:
    """What the admin searches by: one study, a list of accession numbers, or a range of study dates."""

    study_uid: str = ""
    accessions: tuple[str, ...] = ()
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    modality: str = ""

    def check(self) -> None:
        given = [bool(self.study_uid), bool(self.accessions), bool(self.date_from or self.date_to)]
        if sum(given) != 1:
            raise PacsError("search by one of: a StudyInstanceUID, accession numbers, or a date range")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise PacsError(f"the date range ends ({self.date_to}) before it starts ({self.date_from})")


def _client(connection: PacsConnection) -> "DICOMwebClient":
    if not connection.url:
        raise PacsError("no PACS is configured (PACS_DICOMWEB_URL)")
    # dicomweb-client, requests and pydicom load when a PACS is first searched, not in every web process.
    from dicomweb_client.api import DICOMwebClient
    from dicomweb_client.session_utils import create_session, create_session_from_user_pass

    session = (
        create_session_from_user_pass(connection.username, connection.password)
        if connection.username
        else create_session()
    )
    client = DICOMwebClient(connection.url, session=session, timeout=connection.timeout_s)
    client.set_http_retry_params(retry=False)
    return client


def _failure(exc: BaseException, connection: PacsConnection) -> PacsError:
    if isinstance(exc, PacsError):
        return exc
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        code = exc.response.status_code
        if code in (401, 403):
            return PacsError(
                f"the PACS at {connection.url} refused the credentials (HTTP {code}): check PACS_USERNAME and PACS_PASSWORD"
            )
        return PacsError(f"the PACS at {connection.url} answered HTTP {code}")
    if isinstance(exc, requests.Timeout):
        return PacsError(f"the PACS at {connection.url} did not answer within {connection.timeout_s:g} s")
    if isinstance(exc, requests.ConnectionError):
        return PacsError(f"the PACS at {connection.url} is unreachable")
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return PacsError(f"the PACS at {connection.url} failed: {type(exc).__name__}: {text}")


def _value(attributes: dict, tag: str) -> str:
    values = attributes.get(tag, {}).get("Value") or [""]
    value = values[0]
    return str(value.get("Alphabetic", "")) if isinstance(value, dict) else str(value)


def _date_range(query: SearchQuery) -> str:
    start = query.date_from.strftime("%Y%m%d") if query.date_from else ""
    end = query.date_to.strftime("%Y%m%d") if query.date_to else ""
    return f"{start}-{end}"


def search(connection: PacsConnection, query: SearchQuery) -> list[FoundSeries]:
    """The series of the studies that match, by study date, study and series number."""
    query.check()
    try:
        client = _client(connection)
        if query.study_uid:
            studies = [query.study_uid]
        else:
            filters = (
                [{"AccessionNumber": accession} for accession in query.accessions]
                if query.accessions
                else [{"StudyDate": _date_range(query)}]
            )
            studies = []
            for search_filters in filters:
                for study in client.search_for_studies(search_filters=search_filters, get_remaining=True):
                    uid = _value(study, "0020000D")
                    if uid and uid not in studies:
                        studies.append(uid)
        found = []
        for study_uid in studies:
            series_filters = {"Modality": query.modality} if query.modality else None
            for series in client.search_for_series(
                study_instance_uid=study_uid,
                search_filters=series_filters,
                fields=["StudyDate", "SeriesDescription", "NumberOfSeriesRelatedInstances"],
                get_remaining=True,
            ):
                found.append(
                    FoundSeries(
                        study_uid=study_uid,
                        series_uid=_value(series, "0020000E"),
                        modality=_value(series, "00080060"),
                        series_number=_value(series, "00200011"),
                        study_date=_value(series, "00080020"),
                        description=_value(series, "0008103E"),
                        instances=int(_value(series, "00201209") or 0),
                    )
                )
    except Exception as exc:  # requests, dicomweb-client and JSON errors: one line, never a traceback
        raise _failure(exc, connection) from None
    return sorted(found, key=lambda s: (s.study_date, s.study_uid, s.series_number.zfill(6), s.series_uid))


def retrieve(
    connection: PacsConnection,
    series: Iterable[tuple[str, str]],
    into: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Retrieve each (study UID, series UID) into its own numbered folder under `into`, one file per instance, as
    the PACS sent it (the import de-identifies it before anything is stored); returns the files written."""
    chosen = list(series)
    written = 0
    try:
        client = _client(connection)
        for number, (study_uid, series_uid) in enumerate(chosen, start=1):
            folder = into / f"series-{number:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            for index, dataset in enumerate(client.iter_series(study_uid, series_uid), start=1):
                dataset.save_as(folder / f"{index:05d}.dcm", enforce_file_format=True)
                written += 1
            if progress:
                progress(number, len(chosen))
    except Exception as exc:
        raise _failure(exc, connection) from None
    return written
