"""A study archive round-trips: export -> import into an empty database gives the same answers, revisions,
payloads (byte for byte) and statistics; a damaged, truncated, unsafe or unknown archive is refused with one line
and leaves nothing behind."""

import io
import json
import shutil
import zipfile

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection

from archives.export import build_archive
from archives.format import FORMAT_VERSION, MANIFEST, read_archive, write_archive
from archives.models import StudyExport, StudyImport
from imaging.selectors import datasets_by_ids
from projects.services import create_project
from reports.selectors import reader_pseudonyms
from reports.services import artefact, report_now
from studies import archive as studies_archive
from studies.models import Answer, AnswerRevision, Invitation, Item, Survey, new_opaque_id
from studies.selectors import item_at
from studies.services import (
    do_close_survey,
    do_complete_assignment,
    do_create_invitations,
    do_submit_answer,
    parse_answer_input,
)
from tests.conftest import stored_files
from tests.studies.conftest import answer_body

CONTENT = (
    "choice",
    "reason",
    "seconds_on_slice",
    "window_width",
    "window_level",
    "zoom",
    "window_changed",
    "rating",
    "invert_used",
    "slices_visited",
    "seconds_per_slice",
)


def answered_and_closed(make_survey, join, *, name="Archived study", per_side=4):
    """A closed survey three readers answered in full; the first changed one answer (two revisions)."""
    survey = make_survey(name=name, open_it=True, allow_going_back=True, per_side=per_side)
    rng = np.random.default_rng(5)
    for number in range(3):
        assignment = join(survey)
        for position in range(1, survey.item_count + 1):
            item = item_at(assignment, position)
            choice = str(rng.choice(["real", "synthetic", "indeterminable"], p=[0.45, 0.45, 0.1]))
            body = answer_body(
                choice=choice, reason=f"reader {number} on {position}", seconds_on_slice=position + 0.25
            )
            do_submit_answer(assignment=assignment, item=item, data=parse_answer_input(body))
        if number == 0:
            item = item_at(assignment, 2)
            body = answer_body(choice="synthetic", reason="changed my mind", base_revision=1)
            do_submit_answer(assignment=assignment, item=item, data=parse_answer_input(body))
        do_complete_assignment(assignment=assignment)
    do_create_invitations(survey=survey, actor=None, count=1)  # one still pending when the survey closes
    return do_close_survey(survey=survey, actor=None)


def what_was_answered(survey):
    pseudonyms = reader_pseudonyms(survey.assignments.values_list("reader_id", flat=True))
    answers = {
        (pseudonyms[a.assignment.reader_id], a.item.public_id): (
            *(getattr(a, name) for name in CONTENT),
            str(a.client_key),
            a.revision_count,
            a.created_at,
        )
        for a in Answer.objects.filter(item__survey=survey).select_related("assignment", "item")
    }
    revisions = sorted(
        (
            pseudonyms[r.assignment.reader_id],
            r.answer.item.public_id,
            r.revision,
            *(getattr(r, name) for name in CONTENT),
            str(r.client_key),
            r.created_at,
        )
        for r in AnswerRevision.objects.filter(answer__item__survey=survey).select_related(
            "assignment", "answer__item"
        )
    )
    payloads = {}
    for item in Item.objects.filter(survey=survey):
        with default_storage.open(item.payload, "rb") as handle:
            payloads[item.public_id] = (item.truth, item.axial_layer, handle.read())
    return answers, revisions, payloads


def statistics(survey) -> dict:
    stats = json.loads(artefact(report_now(surveys=[survey]), "stats_json"))
    stats.pop("generated_at")
    return stats


@pytest.mark.django_db(transaction=True)
def test_an_archive_imported_into_an_empty_database_gives_the_same_answers_payloads_and_statistics(
    make_survey, join, tmp_path, media_root
):
    survey = answered_and_closed(make_survey, join)
    before = what_was_answered(survey)
    stats_before = statistics(survey)
    assert len(before[1]) == 3 * survey.item_count + 1  # the changed answer kept both revisions
    archive = tmp_path / "study.zip"
    call_command("export_study", survey.name, out=str(archive))

    call_command("flush", interactive=False)
    shutil.rmtree(media_root)
    media_root.mkdir()
    assert not Survey.objects.exists() and not stored_files(media_root)

    call_command("import_study", str(archive))
    restored = Survey.objects.get(name="Archived study")
    assert restored.is_closed
    assert what_was_answered(restored) == before
    assert statistics(restored) == stats_before
    models = datasets_by_ids([restored.model_dataset_id, restored.real_dataset_id])
    assert sorted(d.name for d in models) == ["Model X output", "Real CT contrast"]
    # No invitation of the restored survey can let anybody in, and none carries its old token.
    assert all(
        invitation.state in ("used", "revoked") for invitation in Invitation.objects.filter(survey=restored)
    )


@pytest.mark.django_db
def test_the_archive_holds_what_the_issue_lists_and_a_checksum_per_file(make_survey, join):
    survey = answered_and_closed(make_survey, join, per_side=2)
    archive = read_archive(build_archive([survey]))
    assert archive.manifest["format"] == FORMAT_VERSION
    assert archive.manifest["surveys"] == [survey.name]
    folder = "surveys/01"
    for name in (
        "answers.csv",
        "data-dictionary.csv",
        "archive-dictionary.json",
        "statistics/stats.json",
        "statistics/report.pdf",
        *(
            f"{folder}/{part}.json"
            for part in (
                "survey",
                "items",
                "assignments",
                "invitations",
                "answers",
                "revisions",
                "audit-events",
            )
        ),
    ):
        assert name in archive.files, name
    items = archive.json(f"{folder}/items.json")
    assert sorted(entry["truth"] for entry in items) == ["real"] * 2 + ["synthetic"] * 2
    assert all(archive.files[f"{folder}/{entry['dicom']}"][128:132] == b"DICM" for entry in items)
    assert archive.json(f"{folder}/survey.json")["display_policy"] == survey.display_policy.to_dict()
    # Readers appear under pseudonyms only; invitations without their tokens.
    tokens = list(Invitation.objects.filter(survey=survey).values_list("token", flat=True))
    usernames = list(survey.assignments.values_list("reader__username", flat=True))
    everything = b"".join(archive.files.values())
    assert not any(token.encode() in everything for token in tokens)
    assert not any(f'"{name}"'.encode() in everything for name in usernames)
    verbs = {event["verb"] for event in archive.json(f"{folder}/audit-events.json")}
    assert {"answer.submitted", "answer.revised", "survey.closed"} <= verbs


def rezip(content: bytes, *, change=None, add=None, manifest=None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == MANIFEST and manifest is not None:
                data = json.dumps(manifest(json.loads(data))).encode()
            if change and info.filename == change:
                data = data.replace(b"real", b"fake", 1) if data.count(b"real") else data + b" "
            target.writestr(info.filename, data)
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return buffer.getvalue()


def rezip_with(content: bytes, name: str, replacement: bytes) -> bytes:
    """The archive with one file replaced and the manifest's checksums made to match it."""
    archive = read_archive(content)
    metadata = {k: v for k, v in archive.manifest.items() if k not in ("format", "files")}
    return write_archive({**archive.files, name: replacement}, metadata=metadata)


def bad_archives(content: bytes) -> dict[str, tuple[bytes, str]]:
    return {
        "truncated": (content[: len(content) // 2], "not a complete zip file (truncated or not a zip)"),
        "changed": (
            rezip(content, change="surveys/01/answers.json"),
            "checksum mismatch for surveys/01/answers.json",
        ),
        "traversal": (
            rezip(content, add={"../../etc/cron.d/evil": b"x"}),
            "unsafe path in archive: '../../etc/cron.d/evil'",
        ),
        "absolute": (rezip(content, add={"/tmp/evil": b"x"}), "unsafe path in archive: '/tmp/evil'"),
        "unlisted": (
            rezip(content, add={"extra.txt": b"x"}),
            "extra.txt is in the archive but not in its manifest",
        ),
        "version": (
            rezip(content, manifest=lambda m: {**m, "format": "blindread-archive/99"}),
            "unknown archive format 'blindread-archive/99'",
        ),
        "not a zip": (b"PK\x03\x04 this is not really a zip", "not a complete zip file"),
        "garbage table": (
            rezip_with(content, "surveys/01/items.json", b'[1, 2, "x"]'),
            "the archive's tables are not as described",
        ),
    }


@pytest.mark.django_db
def test_a_bad_archive_is_refused_with_one_line_and_nothing_is_stored(
    make_survey, join, tmp_path, media_root
):
    survey = answered_and_closed(make_survey, join, per_side=2)
    content = build_archive([survey])
    Survey.objects.filter(pk=survey.pk).update(
        name="Renamed here"
    )  # so only the archive's checks can refuse it
    counts = (
        Survey.objects.count(),
        Item.objects.count(),
        Answer.objects.count(),
        AnswerRevision.objects.count(),
    )
    files = stored_files(media_root)
    for label, (bad, says) in bad_archives(content).items():
        path = tmp_path / f"{label.replace(' ', '-')}.zip"
        path.write_bytes(bad)
        with pytest.raises(CommandError) as caught:
            call_command("import_study", str(path))
        message = str(caught.value)
        assert says in message, label
        assert "\n" not in message, label
        assert (
            Survey.objects.count(),
            Item.objects.count(),
            Answer.objects.count(),
            AnswerRevision.objects.count(),
        ) == counts
        assert stored_files(media_root) == files, label


@pytest.mark.django_db
def test_an_archive_of_a_survey_this_instance_holds_is_refused(make_survey, join, tmp_path, media_root):
    survey = answered_and_closed(make_survey, join, per_side=2)
    path = tmp_path / "study.zip"
    call_command("export_study", survey.name, out=str(path))
    files = stored_files(media_root)
    with pytest.raises(CommandError, match="survey 'Archived study' already exists here"):
        call_command("import_study", str(path))
    assert Survey.objects.count() == 1 and stored_files(media_root) == files


@pytest.mark.django_db
def test_export_study_names_an_unknown_survey(db, tmp_path):
    with pytest.raises(CommandError, match="unknown survey 'Nope'"):
        call_command("export_study", "Nope", out=str(tmp_path / "x.zip"))
    assert not StudyExport.objects.exists()


@pytest.mark.django_db
def test_the_admin_action_queues_an_export_job_that_writes_a_downloadable_archive(
    make_survey, join, admin_user, client, jobs_inline
):
    survey = answered_and_closed(make_survey, join, per_side=2)
    client.force_login(admin_user)
    with jobs_inline():
        response = client.post(
            "/admin/studies/survey/",
            {"action": "export_study_archive", "_selected_action": [survey.pk]},
            follow=True,
        )
    assert response.status_code == 200
    job = StudyExport.objects.get()
    assert job.status == "done" and job.result["surveys"] == [survey.name]
    download = client.get(f"/admin/archives/studyexport/{job.pk}/download/")
    content = b"".join(download.streaming_content)
    assert read_archive(content).manifest["surveys"] == [survey.name]


def contradicting_archive(make_survey, join, tmp_path):
    """An archive of a survey (renamed here) with new item ids whose checksums match but whose first answer
    contradicts its revision."""
    survey = answered_and_closed(make_survey, join, per_side=2)
    archive = read_archive(build_archive([survey]))
    Survey.objects.filter(pk=survey.pk).update(name="Renamed here")
    # New item ids throughout (this database holds the originals), then one answer that its revision contradicts.
    files = dict(archive.files)
    for entry in archive.json("surveys/01/items.json"):
        old_id, new_id = entry["public_id"], new_opaque_id()
        files = {
            name.replace(old_id, new_id): content.replace(old_id.encode(), new_id.encode())
            for name, content in files.items()
        }
    answers = json.loads(files["surveys/01/answers.json"])
    answers[0]["choice"] = "indeterminable" if answers[0]["choice"] != "indeterminable" else "real"
    files["surveys/01/answers.json"] = json.dumps(answers).encode()
    metadata = {k: v for k, v in archive.manifest.items() if k not in ("format", "files")}
    path = tmp_path / "crafted.zip"
    path.write_bytes(write_archive(files, metadata=metadata))
    return path


@pytest.mark.django_db
def test_an_archive_whose_rows_contradict_each_other_is_refused_even_with_matching_checksums(
    make_survey, join, tmp_path, media_root
):
    path = contradicting_archive(make_survey, join, tmp_path)
    files_before = stored_files(media_root)
    with pytest.raises(CommandError) as caught:
        call_command("import_study", str(path))
    assert "the archive's rows are inconsistent: in surveys/01, the answer of R-" in str(caught.value)
    assert "differs from its revision 1" in str(caught.value)
    assert Survey.objects.count() == 1 and stored_files(media_root) == files_before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database's own check is PostgreSQL's")
@pytest.mark.django_db
def test_what_the_import_misses_the_database_still_refuses_in_one_line(
    make_survey, join, tmp_path, media_root, monkeypatch
):
    path = contradicting_archive(make_survey, join, tmp_path)
    monkeypatch.setattr(studies_archive, "check_answers_match_revisions", lambda rows: None)
    files_before = stored_files(media_root)
    with pytest.raises(CommandError) as caught:
        call_command("import_study", str(path))
    assert "the archive's rows are inconsistent: answer" in str(caught.value)
    assert "stored without its revision 1 holding the same values" in str(caught.value)
    assert Survey.objects.count() == 1 and stored_files(media_root) == files_before


@pytest.mark.django_db(transaction=True)
def test_import_study_with_project_puts_the_surveys_and_their_datasets_in_that_project(
    make_survey, join, tmp_path, media_root
):
    survey = answered_and_closed(make_survey, join, per_side=2)
    path = tmp_path / "study.zip"
    call_command("export_study", survey.name, out=str(path))
    call_command("flush", interactive=False)
    shutil.rmtree(media_root)
    media_root.mkdir()
    with pytest.raises(CommandError, match="^no project named 'Nowhere'$"):
        call_command("import_study", str(path), "--project", "Nowhere")
    assert not Survey.objects.exists()

    create_project(name="Review board")
    out = io.StringIO()
    call_command("import_study", str(path), "--project", "Review board", stdout=out)
    restored = Survey.objects.get(name="Archived study")
    assert restored.project.name == "Review board"
    assert "imported survey 'Archived study' into 'Review board'" in out.getvalue()
    for dataset in (restored.model_dataset, restored.real_dataset):
        assert list(dataset.projects.values_list("name", flat=True)) == ["Review board"]
    assert StudyImport.objects.get().project.name == "Review board"
