"""Write a report of one or more surveys to a file: tidy answers CSV (with its data dictionary), stats JSON,
PDF, or the metrics CSV of the surveys' models. The download is logged like one from the browser.

Statistics and PDF are the stored artefacts of the surveys' report job; when there is none, or the answers
changed since, the report job runs here first (no worker needed)."""

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects.commands import acting_user, add_user_argument
from reports import selectors
from reports.downloads import What, make_download
from reports.models import DownloadLog
from reports.services import ReportUnavailable, record_download, report_now

FORMATS = {
    "csv": What.ANSWERS_CSV,
    "practice-csv": What.PRACTICE_CSV,
    "json": What.STATS_JSON,
    "pdf": What.PDF,
    "metrics-csv": What.METRICS_CSV,
}


def dictionary_path(out: Path) -> Path:
    """Where the data dictionary goes beside an answers CSV: answers.csv -> answers.dictionary.csv."""
    return out.with_name(f"{out.stem}.dictionary.csv")


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to a temporary file beside ``path`` and move it into place: never a half-written file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = (
        "Export the report of one or more surveys: --format csv (tidy answers, plus a data dictionary beside "
        "it), json (statistics), pdf (the full report) or metrics-csv (the surveys' models' metrics)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--survey", action="append", default=[], metavar="NAME", help="Survey name (repeat for several)"
        )
        parser.add_argument("--format", required=True, help=f"One of {', '.join(FORMATS)}")
        parser.add_argument("--out", required=True, help="File to write (its folder must exist)")
        add_user_argument(parser)

    def handle(self, *args, survey, format, out, **options):
        if format not in FORMATS:
            raise CommandError(f"--format must be one of {', '.join(FORMATS)}, not {format!r}")
        user = acting_user(options)
        surveys, unknown = selectors.surveys_by_name(survey, user)
        if unknown:
            known = ", ".join(repr(name) for name in selectors.survey_names(user)) or "none"
            raise CommandError(f"unknown survey {', '.join(repr(n) for n in unknown)} (known: {known})")
        if not surveys:
            raise CommandError("name at least one survey with --survey NAME")
        path = Path(out)
        if path.is_dir():
            raise CommandError(f"--out {out} is a folder; give a file name")
        if not path.parent.is_dir():
            raise CommandError(f"--out {out}: the folder {path.parent} does not exist")
        if not os.access(path.parent, os.W_OK):
            raise CommandError(f"--out {out}: the folder {path.parent} is not writable")

        if FORMATS[format] in (What.STATS_JSON, What.PDF):
            stored = selectors.stored_report(surveys)
            if stored is None or stored.is_stale:
                # No worker needed: the report job runs in this process when no current artefact exists.
                try:
                    report_now(surveys=surveys)
                except ReportUnavailable as exc:
                    raise CommandError(str(exc)) from None
        download = make_download(FORMATS[format], surveys, user=user)
        written = [(path, download)]
        if format == "csv":
            written.append((dictionary_path(path), make_download(What.DATA_DICTIONARY, user=user)))
        try:
            for target, content in written:
                write_atomically(target, content.content)
        except OSError as exc:
            raise CommandError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from None
        for target, content in written:
            record_download(
                user=None,
                what=content.what,
                content=content.content,
                surveys=content.surveys,
                models=content.models,
                via=DownloadLog.Via.COMMAND,
            )
            self.stdout.write(f"wrote {target} ({len(content.content):,} bytes)")
