"""The archive holds the study design too (format version 2, 3 for the viewer state, 4 for the Italian reader
text): ratings, the invert flag and the stack's visited slices of every answer and revision, the survey's design,
practice items (payloads byte for byte) and answers with their viewer state, second readings and their answers; export -> import into an empty
database gives them back unchanged and the same statistics. Version 1 and 2 archives (written before the design,
and before the viewer state) still import; an archive missing a design table is refused."""

import json
import shutil

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from archives.export import build_archive
from archives.format import (
    FORMAT_VERSION,
    FORMAT_VERSION_1,
    FORMAT_VERSION_2,
    FORMAT_VERSION_3,
    read_archive,
    write_archive,
)
from reports.selectors import reader_pseudonyms
from studies.design import StudyDesign
from studies.models import (
    Answer,
    PracticeAnswer,
    PracticeItem,
    ReadingRound,
    RepeatAnswer,
    Survey,
    new_opaque_id,
)
from studies.selectors import item_at, round_item_at
from studies.services import (
    do_close_survey,
    do_complete_assignment,
    do_complete_round,
    do_submit_answer,
    do_submit_practice_answer,
    do_submit_repeat_answer,
    parse_answer_input,
)
from tests.archives.test_archive import answered_and_closed, rezip, statistics, what_was_answered
from tests.conftest import stored_files
from tests.studies.conftest import answer_body

DESIGN = StudyDesign(rating="five_point", practice_items=2, repeat="all", stack_k=1)
VIEWER_STATE = (
    "window_width",
    "window_level",
    "zoom",
    "window_changed",
    "invert_used",
    "slices_visited",
    "seconds_per_slice",
)
REPEAT_CONTENT = (
    "choice",
    "reason",
    "seconds_on_slice",
    "window_width",
    "window_level",
    "zoom",
    "window_changed",
    "invert_used",
    "rating",
    "slices_visited",
    "seconds_per_slice",
)


def designed_and_closed(make_survey, join, *, name="Designed study", per_side=3):
    """A closed 3-slice stack survey with a 5-point rating, two practice items and a second reading of every item:
    three readers practised and read it all (random ratings, windows, zooms and visited slices, some slices
    inverted); the first changed one rating; the first two read the second round (the first to its end), the third
    never started it."""
    survey = make_survey(
        name=name,
        open_it=True,
        allow_going_back=True,
        per_side=per_side,
        design=DESIGN,
        reader_title_it="Studio progettato",
        instructions_it="Leggi ogni pila.",
    )
    rng = np.random.default_rng(11)

    def data(**fields):
        visited = [0, *rng.choice([1, -1], size=int(rng.integers(0, 3)), replace=False).tolist()]
        body = answer_body(
            rating=int(rng.integers(1, 6)),
            invert_used=bool(rng.random() < 0.3),
            window_width=float(rng.choice([400, 1500, 2500])),
            window_level=float(rng.choice([40, -600, 480])),
            zoom=float(rng.choice([1.0, 1.5, 2.0])),
            window_changed=bool(rng.random() < 0.5),
            slices_visited=visited,
            seconds_per_slice=[round(float(s), 2) for s in rng.uniform(0.2, 4.0, DESIGN.stack_slices)],
            contradiction_confirmed=True,  # random ratings and choices: the readers confirmed the contradictions
            **fields,
        )
        return parse_answer_input(body, DESIGN)

    for number in range(3):
        assignment = join(survey)
        for pk in assignment.practice_order:
            practice_item = PracticeItem.objects.get(pk=pk)
            do_submit_practice_answer(assignment=assignment, practice_item=practice_item, data=data())
        for position in range(1, survey.item_count + 1):
            item = item_at(assignment, position)
            do_submit_answer(
                assignment=assignment,
                item=item,
                data=data(choice=str(rng.choice(["real", "synthetic"])), reason=f"reader {number}"),
            )
        if number == 0:
            do_submit_answer(
                assignment=assignment,
                item=item_at(assignment, 2),
                data=data(choice="synthetic", base_revision=1),
            )
        do_complete_assignment(assignment=assignment)
        reading_round = ReadingRound.objects.get(assignment=assignment)
        last = {0: reading_round.total, 1: 2, 2: 0}[number]
        for position in range(1, last + 1):
            do_submit_repeat_answer(
                reading_round=reading_round,
                item=round_item_at(reading_round, position),
                data=data(choice=str(rng.choice(["real", "synthetic", "indeterminable"]))),
            )
        if number == 0:
            do_complete_round(reading_round=reading_round)
    return do_close_survey(survey=survey, actor=None)


def what_the_design_holds(survey):
    """Everything the study design added, keyed by pseudonym and public id (comparable across databases)."""
    pseudonyms = reader_pseudonyms(survey.assignments.values_list("reader_id", flat=True))
    practice = {}
    for item in PracticeItem.objects.filter(survey=survey):
        with default_storage.open(item.payload, "rb") as handle:
            practice[item.public_id] = (item.truth, item.axial_layer, item.payload_sha256, handle.read())
    practice_order = {
        pseudonyms[a.reader_id]: [PracticeItem.objects.get(pk=pk).public_id for pk in a.practice_order]
        for a in survey.assignments.all()
    }
    practice_answers = sorted(
        (
            pseudonyms[a.assignment.reader_id],
            a.practice_item.public_id,
            a.choice,
            a.rating,
            a.seconds_on_slice,
            *(getattr(a, name) for name in VIEWER_STATE),
            str(a.client_key),
            a.created_at,
        )
        for a in PracticeAnswer.objects.filter(practice_item__survey=survey).select_related(
            "assignment", "practice_item"
        )
    )
    public = dict(survey.items.values_list("pk", "public_id"))
    rounds = sorted(
        (
            pseudonyms[r.assignment.reader_id],
            r.number,
            tuple(public[pk] for pk in r.item_order),
            r.opens_at,
            r.created_at,
            r.completed_at,
        )
        for r in ReadingRound.objects.filter(assignment__survey=survey).select_related("assignment")
    )
    repeat_answers = sorted(
        (
            pseudonyms[a.reading_round.assignment.reader_id],
            a.reading_round.number,
            a.item.public_id,
            *(getattr(a, name) for name in REPEAT_CONTENT),
            str(a.client_key),
            a.created_at,
        )
        for a in RepeatAnswer.objects.filter(item__survey=survey).select_related(
            "reading_round__assignment", "item"
        )
    )
    return survey.design, practice, practice_order, practice_answers, rounds, repeat_answers


@pytest.mark.django_db(transaction=True)
def test_a_designed_survey_round_trips_with_ratings_practice_and_its_second_reading(
    make_survey, join, tmp_path, media_root
):
    survey = designed_and_closed(make_survey, join)
    before = what_was_answered(survey)
    design_before = what_the_design_holds(survey)
    stats_before = statistics(survey)
    # What is compared is really there: ratings, inversions, practice and both kinds of round.
    assert {a.rating for a in Answer.objects.filter(item__survey=survey)} - {None}
    assert Answer.objects.filter(item__survey=survey, invert_used=True).exists()
    assert {len(a.slices_visited) for a in Answer.objects.filter(item__survey=survey)} >= {1, 2}
    assert {a.zoom for a in PracticeAnswer.objects.filter(practice_item__survey=survey)} - {None, 1.0}
    assert len(design_before[1]) == 2 and len(design_before[3]) == 3 * 2
    assert len(design_before[4]) == 3 and len(design_before[5]) == survey.item_count + 2
    archive_path = tmp_path / "designed.zip"
    call_command("export_study", survey.name, out=str(archive_path))
    assert read_archive(archive_path.read_bytes()).manifest["format"] == FORMAT_VERSION

    call_command("flush", interactive=False)
    shutil.rmtree(media_root)
    media_root.mkdir()
    assert not Survey.objects.exists() and not stored_files(media_root)

    call_command("import_study", str(archive_path))
    restored = Survey.objects.get(name="Designed study")
    assert restored.is_closed
    assert (restored.reader_title_it, restored.instructions_it) == ("Studio progettato", "Leggi ogni pila.")
    assert what_was_answered(restored) == before
    assert what_the_design_holds(restored) == design_before
    assert statistics(restored) == stats_before


def renumbered(files: dict[str, bytes], archive, *, folder="surveys/01") -> dict[str, bytes]:
    """The archive's files with new public ids for every item (this database holds the originals)."""
    entries = [*archive.json(f"{folder}/items.json")]
    if f"{folder}/practice-items.json" in files:
        entries += archive.json(f"{folder}/practice-items.json")
    for entry in entries:
        old_id, new_id = entry["public_id"], new_opaque_id()
        files = {
            name.replace(old_id, new_id): content.replace(old_id.encode(), new_id.encode())
            for name, content in files.items()
        }
    return files


def as_version_1(content: bytes) -> bytes:
    """An archive as version 1 wrote it: no design tables, no rating or invert flag, no design in survey.json."""
    archive = read_archive(content)
    files = {
        name: data
        for name, data in archive.files.items()
        if not name.endswith(
            ("practice-items.json", "practice-answers.json", "rounds.json", "repeat-answers.json")
        )
    }
    for table in ("answers", "revisions"):
        rows = json.loads(files[f"surveys/01/{table}.json"])
        for row in rows:
            del row["rating"], row["invert_used"], row["slices_visited"], row["seconds_per_slice"]
        files[f"surveys/01/{table}.json"] = json.dumps(rows).encode()
    survey = json.loads(files["surveys/01/survey.json"])
    del survey["design"], survey["reader_title_it"], survey["instructions_it"]
    files["surveys/01/survey.json"] = json.dumps(survey).encode()
    files = renumbered(files, archive)
    metadata = {k: v for k, v in archive.manifest.items() if k not in ("format", "files")}
    return rezip(
        write_archive(files, metadata=metadata), manifest=lambda m: {**m, "format": FORMAT_VERSION_1}
    )


@pytest.mark.django_db
def test_a_version_1_archive_still_imports_with_no_rating_and_the_default_design(make_survey, join, tmp_path):
    survey = answered_and_closed(make_survey, join, per_side=2)
    old = as_version_1(build_archive([survey]))
    assert read_archive(old).manifest["format"] == FORMAT_VERSION_1
    answers_before = sorted(
        (a.choice, a.reason, a.revision_count) for a in Answer.objects.filter(item__survey=survey)
    )
    Survey.objects.filter(pk=survey.pk).update(name="Renamed here")
    path = tmp_path / "old.zip"
    path.write_bytes(old)
    call_command("import_study", str(path))
    restored = Survey.objects.get(name="Archived study")
    answers = Answer.objects.filter(item__survey=restored)
    assert sorted((a.choice, a.reason, a.revision_count) for a in answers) == answers_before
    assert {(a.rating, a.invert_used) for a in answers} == {(None, False)}
    assert restored.design == StudyDesign() and not restored.practice_items.exists()


def as_version_2(content: bytes) -> bytes:
    """An archive as version 2 wrote it: no visited slices on answers, no viewer state on practice answers."""
    archive = read_archive(content)
    files = dict(archive.files)
    for table, fields in (
        ("answers", ("slices_visited", "seconds_per_slice")),
        ("revisions", ("slices_visited", "seconds_per_slice")),
        ("repeat-answers", ("slices_visited", "seconds_per_slice")),
        ("practice-answers", VIEWER_STATE),
    ):
        rows = json.loads(files[f"surveys/01/{table}.json"])
        for row in rows:
            for field in fields:
                del row[field]
        files[f"surveys/01/{table}.json"] = json.dumps(rows).encode()
    survey = json.loads(files["surveys/01/survey.json"])
    del survey["reader_title_it"], survey["instructions_it"]
    files["surveys/01/survey.json"] = json.dumps(survey).encode()
    files = renumbered(files, archive)
    metadata = {k: v for k, v in archive.manifest.items() if k not in ("format", "files")}
    return rezip(
        write_archive(files, metadata=metadata), manifest=lambda m: {**m, "format": FORMAT_VERSION_2}
    )


@pytest.mark.django_db
def test_a_version_2_archive_imports_with_the_viewer_state_not_recorded(
    make_survey, join, tmp_path, media_root
):
    survey = designed_and_closed(make_survey, join, per_side=2)
    old = as_version_2(build_archive([survey]))
    ratings_before = sorted(a.rating for a in Answer.objects.filter(item__survey=survey))
    Survey.objects.filter(pk=survey.pk).update(name="Renamed here")
    path = tmp_path / "v2.zip"
    path.write_bytes(old)
    call_command("import_study", str(path))
    restored = Survey.objects.get(name="Designed study")
    answers = Answer.objects.filter(item__survey=restored)
    assert sorted(a.rating for a in answers) == ratings_before
    assert {(tuple(a.slices_visited), tuple(a.seconds_per_slice)) for a in answers} == {((), ())}
    assert {tuple(a.slices_visited) for a in RepeatAnswer.objects.filter(item__survey=restored)} == {()}
    practice = PracticeAnswer.objects.filter(practice_item__survey=restored)
    assert practice.count() == 3 * 2
    assert {tuple(getattr(a, name) for name in VIEWER_STATE) for a in practice} == {
        (None,) * len(VIEWER_STATE)
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("drop rounds", "the archive has no surveys/01/rounds.json"),
        ("bad design", "surveys/01/survey.json: unknown confidence rating 'ten_point'"),
        ("unknown practice item", "does not hold a valid survey (KeyError"),
    ],
)
def test_an_archive_with_a_broken_design_table_is_refused_in_one_line(
    make_survey, join, tmp_path, media_root, change, says
):
    survey = designed_and_closed(make_survey, join, per_side=2)
    archive = read_archive(build_archive([survey]))
    Survey.objects.filter(pk=survey.pk).update(name="Renamed here")
    files = renumbered(dict(archive.files), archive)
    if change == "drop rounds":
        del files["surveys/01/rounds.json"]
    elif change == "bad design":
        data = json.loads(files["surveys/01/survey.json"])
        data["design"]["rating"] = "ten_point"
        files["surveys/01/survey.json"] = json.dumps(data).encode()
    else:
        rows = json.loads(files["surveys/01/practice-answers.json"])
        rows[0]["practice_item"] = "no-such-item"
        files["surveys/01/practice-answers.json"] = json.dumps(rows).encode()
    metadata = {k: v for k, v in archive.manifest.items() if k not in ("format", "files")}
    path = tmp_path / "broken.zip"
    path.write_bytes(write_archive(files, metadata=metadata))
    counts = (Survey.objects.count(), PracticeItem.objects.count(), ReadingRound.objects.count())
    stored = stored_files(media_root)
    with pytest.raises(CommandError) as caught:
        call_command("import_study", str(path))
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert (Survey.objects.count(), PracticeItem.objects.count(), ReadingRound.objects.count()) == counts
    assert stored_files(media_root) == stored


def as_version_3(content: bytes) -> bytes:
    """An archive as version 3 wrote it: no Italian reader title or instructions in survey.json."""
    archive = read_archive(content)
    files = dict(archive.files)
    survey = json.loads(files["surveys/01/survey.json"])
    del survey["reader_title_it"], survey["instructions_it"]
    files["surveys/01/survey.json"] = json.dumps(survey).encode()
    files = renumbered(files, archive)
    metadata = {k: v for k, v in archive.manifest.items() if k not in ("format", "files")}
    return rezip(
        write_archive(files, metadata=metadata), manifest=lambda m: {**m, "format": FORMAT_VERSION_3}
    )


@pytest.mark.django_db
def test_a_version_3_archive_imports_with_no_italian_text(make_survey, join, tmp_path, media_root):
    survey = designed_and_closed(make_survey, join, per_side=2)
    old = as_version_3(build_archive([survey]))
    Survey.objects.filter(pk=survey.pk).update(name="Renamed here")
    path = tmp_path / "v3.zip"
    path.write_bytes(old)
    call_command("import_study", str(path))
    restored = Survey.objects.get(name="Designed study")
    assert (restored.reader_title_it, restored.instructions_it) == ("", "")
    assert restored.reader_title == survey.reader_title
