"""A survey's studies rows read back from a study archive, checked, and restored by :func:`do_restore_survey`."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from audit.archive import ArchiveValueError
from audit.services import record_event
from projects.services import ensure_default_project
from storage import store_file
from studies.archive.tables import (
    ANSWER_CONTENT,
    ANSWERS,
    ASSIGNMENTS,
    INVITATIONS,
    ITEMS,
    PRACTICE_ANSWERS,
    PRACTICE_ITEMS,
    REPEAT_ANSWERS,
    REVISIONS,
    ROUNDS,
    SURVEYS,
    StudyTable,
)
from studies.design import DesignError, StudyDesign
from studies.models import (
    Answer,
    AnswerRevision,
    Assignment,
    Invitation,
    Item,
    PracticeAnswer,
    PracticeItem,
    ReaderProfile,
    ReadingRound,
    RepeatAnswer,
    Survey,
)
from studies.policy import DisplayPolicy, PolicyError

TABLES = (
    ITEMS,
    PRACTICE_ITEMS,
    ASSIGNMENTS,
    INVITATIONS,
    ANSWERS,
    REVISIONS,
    PRACTICE_ANSWERS,
    ROUNDS,
    REPEAT_ANSWERS,
)
NOT_AS_DESCRIBED = "the archive's tables are not as described"


@dataclass(frozen=True)
class SurveyRows:
    """One survey's rows as read from an archive, the fields added since its version at their older value."""

    folder: str
    survey: dict
    tables: dict[str, list[dict]]  # file name -> rows

    def __getitem__(self, table: StudyTable) -> list[dict]:
        return self.tables[table.table]

    @property
    def name(self) -> str:
        return self.survey["name"]


def survey_rows(read: Callable[[str], object], *, folder: str, name: str, version: int) -> SurveyRows:
    """The rows of the survey archived under `folder` (`read(file)` gives a file of the folder as JSON); an
    ArchiveValueError (one line) when a table is not a list of objects or the survey is not `name`."""
    survey = read(SURVEYS.table)
    if not isinstance(survey, dict) or survey.get("name") != name:
        raise ArchiveValueError(f"{folder}/{SURVEYS.table} does not describe survey {str(name)[:80]!r}")
    tables = {}
    for table in TABLES:
        rows = [] if version < table.since else read(table.table)
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ArchiveValueError(f"{NOT_AS_DESCRIBED}: {folder}/{table.table} is not a list of objects")
        tables[table.table] = [table.with_defaults(row, version) for row in rows]
    return SurveyRows(folder, SURVEYS.with_defaults(survey, version), tables)


def check_answers_match_revisions(rows: SurveyRows) -> None:
    """Every answer says what its latest revision says (as the database demands), on any database."""
    revisions = {(r["reader"], r["item"], r["revision"]): r for r in rows[REVISIONS]}
    for answer in rows[ANSWERS]:
        revision = revisions.get((answer["reader"], answer["item"], answer["revision_count"]))
        fields = (*ANSWER_CONTENT, "client_key")
        if revision is None or any(revision[name] != answer[name] for name in fields):
            raise ArchiveValueError(
                f"the archive's rows are inconsistent: in {rows.folder}, the answer of {answer['reader']} to "
                f"{answer['item']} differs from its revision {answer['revision_count']}"
            )


def check_restorable(all_rows: Sequence[SurveyRows]) -> None:
    """None of the surveys, items or practice items exists here already."""
    names = [rows.name for rows in all_rows]
    taken = list(Survey.objects.filter(name__in=names).values_list("name", flat=True))
    if taken:
        raise ArchiveValueError(
            f"survey {taken[0]!r} already exists here; import into an instance without it"
        )
    public_ids = [item["public_id"] for rows in all_rows for item in rows[ITEMS]]
    if Item.objects.filter(public_id__in=public_ids).exists():
        raise ArchiveValueError("an item of the archive already exists here (same public id)")
    practice_ids = [item["public_id"] for rows in all_rows for item in rows[PRACTICE_ITEMS]]
    if PracticeItem.objects.filter(public_id__in=practice_ids).exists():
        raise ArchiveValueError("a practice item of the archive already exists here (same public id)")


def survey_settings(rows: SurveyRows) -> tuple[DisplayPolicy, StudyDesign]:
    """The survey's display policy and design; ArchiveValueError (one line) when either is not valid."""
    where = f"{rows.folder}/{SURVEYS.table}"
    try:
        policy = DisplayPolicy.from_dict(rows.survey["display_policy"])
    except (PolicyError, TypeError, ValueError, AttributeError, KeyError) as exc:
        raise ArchiveValueError(f"{where}: display_policy: {exc}") from None
    try:
        design = StudyDesign.from_dict(rows.survey["design"])
    except DesignError as exc:
        raise ArchiveValueError(f"{where}: {exc}") from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise ArchiveValueError(f"{where}: design: {exc}") from None
    return policy, design


def _validated(instance: models.Model, *, where: str, exclude: Sequence[str] = ()) -> models.Model:
    """`instance` once its fields pass their own validation (types, lengths, ranges, choices); ArchiveValueError
    (one line) otherwise. Relations are the restore's own and the database checks the constraints."""
    related = [f.name for f in instance._meta.concrete_fields if f.is_relation]
    try:
        instance.full_clean(exclude=[*related, *exclude], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        message = " ".join(" ".join(messages).split())[:200]
        raise ArchiveValueError(f"{where}: {field}: {message}") from None
    return instance


def _insert(instance: models.Model, *, where: str) -> models.Model:
    """Insert a validated row as it was archived: its stored times kept, not stamped now (as loaddata does)."""
    _validated(instance, where=where).save_base(raw=True)
    return instance


def _archived_reader(username: str, assignment_row: dict | None):
    """The inactive user standing for an archived reader (created on first use, with the profile it carried)."""
    if not isinstance(username, str) or len(username) > 150:
        raise ArchiveValueError(f"not a reader pseudonym: {str(username)[:64]!r}")
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        if assignment_row and (
            assignment_row.get("reader_specialty")
            or assignment_row.get("reader_years_of_experience") is not None
        ):
            # Saved as new (its time of change is not archived).
            _validated(
                ReaderProfile(
                    user=user,
                    specialty=assignment_row.get("reader_specialty") or "",
                    years_of_experience=assignment_row.get("reader_years_of_experience"),
                ),
                where=f"the profile of {username}",
                exclude=["updated_at"],
            ).save()
    return user


@transaction.atomic
def do_restore_survey(
    rows: SurveyRows,
    *,
    datasets: Mapping[str, object],
    slices: Mapping[str, object],
    payload: Callable[[str, dict], bytes],
    reader_username: Callable[[str], str],
    written: list[str],
    actor=None,
    details: Mapping[str, object],
    project=None,
) -> Survey:
    """Restore one archived survey as a closed survey with its items (payloads stored again byte for byte),
    readers, assignments, invitations (any still pending revoked), answers, revisions, practice answers, rounds
    and repeat answers, at their original times, and its `survey.imported` audit row with `details`.

    `datasets` gives the restored "real" and "synthetic" datasets, `slices` each item's restored slice by public
    id, `payload(kind, row)` an item's payload ("items" or "practice"); storage names written are added to
    `written`. Refusals are ArchiveValueError (one line); KeyError and TypeError mean rows that refer to nothing.
    """
    data = rows.survey
    policy, design = survey_settings(rows)
    where = f"{rows.folder}/{SURVEYS.table}"
    values = SURVEYS.load(data, where=where)
    created_at = values["created_at"]
    # Restored closed, whatever it was when exported: nobody reads it here.
    values.update(
        status=Survey.Status.CLOSED,
        opened_at=values["opened_at"] or created_at,
        closed_at=values["closed_at"] or timezone.now(),
    )
    survey = _insert(
        Survey(
            **values,
            # Restored surveys join the project the import names, else the default project.
            project=project or ensure_default_project(),
            model_dataset=datasets["synthetic"],
            real_dataset=datasets["real"],
            display_policy=policy,
            design=design,
        ),
        where=where,
    )

    def insert_items(table: StudyTable, kind: str, prefix: str) -> dict:
        """The survey's test or practice items, each payload stored again byte for byte, by public id."""
        inserted = {}
        for number, row in enumerate(rows[table]):
            item_where = f"{rows.folder}/{table.table} row {number + 1}"
            name = store_file(
                f"survey-items/{survey.pk}/{prefix}{secrets.token_hex(16)}.i16", payload(kind, row)
            )
            written.append(name)
            inserted[row["public_id"]] = _insert(
                table.model(
                    survey=survey,
                    slice=slices[row["public_id"]],
                    payload=name,
                    **table.load(row, where=item_where),
                ),
                where=item_where,
            )
        return inserted

    items = insert_items(ITEMS, "items", "")
    practice_items = insert_items(PRACTICE_ITEMS, "practice", "practice-")

    readers = {}
    assignments = {}
    for number, row in enumerate(rows[ASSIGNMENTS], start=1):
        reader = readers[row["reader"]] = _archived_reader(reader_username(row["reader"]), row)
        assignments[row["reader"]] = _insert(
            Assignment(
                survey=survey,
                reader=reader,
                item_order=[items[public_id].pk for public_id in row["item_order"]],
                practice_order=[practice_items[public_id].pk for public_id in row["practice_order"]],
                **ASSIGNMENTS.load(row, where=f"{rows.folder}/{ASSIGNMENTS.table} row {number}"),
            ),
            where=f"{rows.folder}/{ASSIGNMENTS.table} row {number}",
        )
    now = timezone.now()
    for number, row in enumerate(rows[INVITATIONS], start=1):
        row_where = f"{rows.folder}/{INVITATIONS.table} row {number}"
        values = INVITATIONS.load(row, where=row_where)
        used_by = row.get("used_by")
        # The survey is closed: an invitation still pending would let nobody in; say so.
        values["revoked_at"] = values["revoked_at"] or (None if values["used_at"] else now)
        _insert(
            Invitation(
                survey=survey,
                used_by=readers.get(used_by)
                or (_archived_reader(reader_username(used_by), None) if used_by else None),
                **values,
            ),
            where=row_where,
        )
    answers = {}
    for number, row in enumerate(rows[ANSWERS], start=1):
        row_where = f"{rows.folder}/{ANSWERS.table} row {number}"
        answers[(row["reader"], row["item"])] = _insert(
            Answer(
                assignment=assignments[row["reader"]],
                item=items[row["item"]],
                **ANSWERS.load(row, where=row_where),
            ),
            where=row_where,
        )
    for number, row in enumerate(rows[REVISIONS], start=1):
        row_where = f"{rows.folder}/{REVISIONS.table} row {number}"
        answer = answers[(row["reader"], row["item"])]
        _insert(
            AnswerRevision(
                answer=answer, assignment=answer.assignment, **REVISIONS.load(row, where=row_where)
            ),
            where=row_where,
        )
    for number, row in enumerate(rows[PRACTICE_ANSWERS], start=1):
        row_where = f"{rows.folder}/{PRACTICE_ANSWERS.table} row {number}"
        _insert(
            PracticeAnswer(
                assignment=assignments[row["reader"]],
                practice_item=practice_items[row["practice_item"]],
                **PRACTICE_ANSWERS.load(row, where=row_where),
            ),
            where=row_where,
        )
    rounds = {}
    for number, row in enumerate(rows[ROUNDS], start=1):
        row_where = f"{rows.folder}/{ROUNDS.table} row {number}"
        rounds[(row["reader"], row["number"])] = _insert(
            ReadingRound(
                assignment=assignments[row["reader"]],
                item_order=[items[public_id].pk for public_id in row["item_order"]],
                **ROUNDS.load(row, where=row_where),
            ),
            where=row_where,
        )
    for number, row in enumerate(rows[REPEAT_ANSWERS], start=1):
        row_where = f"{rows.folder}/{REPEAT_ANSWERS.table} row {number}"
        _insert(
            RepeatAnswer(
                reading_round=rounds[(row["reader"], row["round"])],
                item=items[row["item"]],
                **REPEAT_ANSWERS.load(row, where=row_where),
            ),
            where=row_where,
        )
    record_event(actor=actor, verb="survey.imported", target=survey, details=dict(details))
    return survey
