import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from reports.content.exports import ANSWER_COLUMNS
from reports.content.report import TABLE2_TITLE, TABLE3_TITLE
from reports.models import DownloadLog
from studies.models import Answer
from tests.reports.pdf_text import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path):
    """An empty folder for the exports (tmp_path also holds the test's media storage)."""
    path = tmp_path / "exports"
    path.mkdir()
    return path


def export(*arguments) -> str:
    out = io.StringIO()
    call_command("export_report", *arguments, stdout=out)
    return out.getvalue()


def test_csv_writes_the_tidy_answers_and_the_data_dictionary_beside_them(study, folder):
    target = folder / "answers.csv"
    text = export("--survey", "Survey 1", "--survey", "Survey 2", "--format", "csv", "--out", str(target))
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert len(rows) == Answer.objects.count()
    assert list(rows[0]) == [column.name for column in ANSWER_COLUMNS]
    dictionary = list(csv.DictReader((folder / "answers.dictionary.csv").open(encoding="utf-8")))
    assert {entry["column"] for entry in dictionary} >= set(rows[0])
    assert f"wrote {target}" in text
    assert sorted(folder.iterdir()) == [folder / "answers.csv", folder / "answers.dictionary.csv"]
    logs = DownloadLog.objects.order_by("id")
    assert [(log.what, log.via, log.user) for log in logs] == [
        ("answers_csv", "command", None),
        ("data_dictionary", "command", None),
    ]
    assert logs[0].surveys == ["Survey 1", "Survey 2"]


def test_json_and_pdf_hold_the_statistics_and_the_tables(study, folder):
    export("--survey", "Survey 2", "--format", "json", "--out", str(folder / "stats.json"))
    payload = json.loads((folder / "stats.json").read_text())
    assert [survey["name"] for survey in payload["surveys"]] == ["Survey 2"]
    assert (
        payload["study_report"]["surveys"][0]["answer_count"]
        == Answer.objects.filter(item__survey__name="Survey 2").count()
    )
    export("--survey", "Survey 1", "--format", "pdf", "--out", str(folder / "report.pdf"))
    content = (folder / "report.pdf").read_bytes()
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    assert TABLE2_TITLE in text and TABLE3_TITLE in text and "Survey 1: real vs synthetic" in text


def test_metrics_csv_covers_the_surveys_models(study, folder):
    export("--survey", "Survey 1", "--format", "metrics-csv", "--out", str(folder / "metrics.csv"))
    rows = list(csv.DictReader((folder / "metrics.csv").open(encoding="utf-8")))
    assert rows and {row["model"] for row in rows} == {"Model A"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--survey", "Nope", "--format", "csv"], "unknown survey 'Nope' (known: 'Survey 1', 'Survey 2')"),
        (
            ["--survey", "Survey 1", "--format", "docx"],
            "--format must be one of csv, practice-csv, json, pdf, metrics-csv, not 'docx'",
        ),
        (["--format", "pdf"], "name at least one survey with --survey NAME"),
        (["--survey", "Survey 1", "--format", "pdf", "--out-dir"], None),
    ],
)
def test_garbage_input_gets_a_one_line_error_and_writes_nothing(study, folder, arguments, message):
    if message is None:  # a bad out path: a folder, and a file in a missing folder
        for out, expected in (
            (folder, "is a folder; give a file name"),
            (folder / "missing" / "report.pdf", "does not exist"),
        ):
            with pytest.raises(CommandError) as error:
                export("--survey", "Survey 1", "--format", "pdf", "--out", str(out))
            assert expected in str(error.value) and "\n" not in str(error.value)
    else:
        with pytest.raises(CommandError) as error:
            export(*arguments, "--out", str(folder / "out.file"))
        assert str(error.value) == message
    assert list(folder.iterdir()) == []
    assert not DownloadLog.objects.exists()
