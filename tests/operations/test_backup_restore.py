"""The backup drill of docs/operations.md on the real PostgreSQL: pg_dump a database holding a closed survey with
answers, pg_restore it into a new database, copy the media folder as the compose volume would be copied, and find
the same answers, revisions and payload files there, with the history still append-only."""

import hashlib
import os
import shutil
import subprocess
import tarfile

import psycopg
import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

from studies.models import Answer, AnswerRevision, Item
from studies.selectors import item_at
from studies.services import do_close_survey, do_complete_assignment, do_submit_answer, parse_answer_input
from tests.studies.conftest import answer_body

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the drill is for PostgreSQL"),
    pytest.mark.skipif(
        not (shutil.which("pg_dump") and shutil.which("pg_restore")),
        reason="pg_dump and pg_restore are not installed on this machine",
    ),
]

RESTORED = f"{settings.DATABASES['default']['NAME']}_restored"


def libpq_env() -> dict:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "PGHOST": db["HOST"] or "localhost",
        "PGPORT": str(db["PORT"] or 5432),
        "PGUSER": db["USER"],
    }
    if db["PASSWORD"]:
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def run(*command: str) -> None:
    result = subprocess.run(command, env=libpq_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def answers_in(cursor) -> list[tuple]:
    cursor.execute(
        """SELECT i.public_id, u.username, a.choice, a.reason, a.revision_count,
                  (SELECT array_agg(r.choice ORDER BY r.revision) FROM studies_answerrevision r WHERE r.answer_id = a.id)
           FROM studies_answer a
           JOIN studies_item i ON i.id = a.item_id
           JOIN studies_assignment s ON s.id = a.assignment_id
           JOIN auth_user u ON u.id = s.reader_id
           ORDER BY i.public_id, u.username"""
    )
    return cursor.fetchall()


@pytest.fixture
def restored_database():
    run("dropdb", "--if-exists", RESTORED)
    yield RESTORED
    run("dropdb", "--if-exists", RESTORED)


@pytest.mark.django_db(transaction=True)
def test_a_dump_restored_into_a_new_database_holds_the_same_answers_and_payloads(
    make_survey, join, tmp_path, media_root, restored_database
):
    survey = make_survey(open_it=True, allow_going_back=True, per_side=2)
    for _ in range(2):
        assignment = join(survey)
        for position in range(1, survey.item_count + 1):
            body = answer_body(choice="real" if position % 2 else "synthetic", reason=f"slice {position}")
            do_submit_answer(
                assignment=assignment, item=item_at(assignment, position), data=parse_answer_input(body)
            )
        body = answer_body(choice="indeterminable", base_revision=1)
        do_submit_answer(assignment=assignment, item=item_at(assignment, 1), data=parse_answer_input(body))
        do_complete_assignment(assignment=assignment)
    do_close_survey(survey=survey, actor=None)
    with connection.cursor() as cursor:
        expected = answers_in(cursor)
    assert len(expected) == 2 * survey.item_count and Answer.objects.count() == len(expected)
    assert AnswerRevision.objects.count() == len(expected) + 2
    payloads = dict(Item.objects.values_list("payload", "payload_sha256"))

    # The drill: the commands docs/operations.md gives, against this test database and media folder.
    dump = tmp_path / "blindread.dump"
    run("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", settings.DATABASES["default"]["NAME"])
    media_backup = tmp_path / "media.tar.gz"
    with tarfile.open(media_backup, "w:gz") as archive:
        archive.add(media_root, arcname=".")
    run("createdb", restored_database)
    run("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored_database}", str(dump))
    restored_media = tmp_path / "restored-media"
    restored_media.mkdir()
    with tarfile.open(media_backup) as archive:
        archive.extractall(restored_media, filter="data")

    db = settings.DATABASES["default"]
    with (
        psycopg.connect(
            dbname=restored_database,
            host=db["HOST"],
            port=db["PORT"],
            user=db["USER"],
            password=db["PASSWORD"] or None,
        ) as restored,
        restored.cursor() as cursor,
    ):
        assert answers_in(cursor) == expected
        cursor.execute("SELECT status FROM studies_survey WHERE name = %s", [survey.name])
        assert cursor.fetchone() == ("closed",)
        cursor.execute("SELECT payload, payload_sha256 FROM studies_item")
        restored_payloads = dict(cursor.fetchall())
        assert restored_payloads == payloads
        for name, digest in restored_payloads.items():
            restored_bytes = (restored_media / name).read_bytes()
            assert hashlib.sha256(restored_bytes).hexdigest() == digest
            with default_storage.open(name, "rb") as handle:
                assert restored_bytes == handle.read()
        # The triggers came back with the data: the restored history is still append-only.
        with pytest.raises(psycopg.errors.RestrictViolation):
            cursor.execute("UPDATE studies_answerrevision SET choice = 'real'")
