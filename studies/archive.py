"""Reader studies in a study archive: which fields of surveys, items, readers, assignments, invitations, answers,
revisions, practice answers, reading rounds and repeat answers an archive holds (one declaration per model, used by
both directions), how a survey's rows are written (:func:`survey_tables`), and how they are restored
(:func:`do_restore_survey`: one transaction, with its audit row, the rows inserted with their original times).

A new field of one of these models is either added to its declaration here (the export writes it and the import
restores it, nothing else to change; with `added_in` when older archives lack it) or listed in `left_out` with the
reason; tests/archives/test_archive_format.py fails until one of the two is done. The archive's container, its
checks and the order of the import are the `archives` app's; the pixels' volumes are imaging's.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from audit.archive import ArchivedFields, ArchiveValueError
from audit.services import record_event
from imaging.pixels import store_file
from studies.design import DesignError, StudyDesign
from studies.models import (
    VIEWER_STATE_FIELDS,
    Answer,
    AnswerRevision,
    Assignment,
    BlindingAudit,
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

ANSWER_CONTENT = (
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
PRACTICE_CONTENT = ("choice", "rating", "seconds_on_slice", *VIEWER_STATE_FIELDS)
# Version 2 added ratings and the invert flag, version 3 the stack's visited slices and (practice) the viewer state.
ANSWER_ADDED_IN = {
    "rating": (2, None),
    "invert_used": (2, False),
    "slices_visited": (3, []),
    "seconds_per_slice": (3, []),
}
EXPORTING_SITE_ID = "the row's number on the exporting site"
SURVEY_FOLDER = "the survey folder (surveys/NN/) the rows are in"


@dataclass(frozen=True)
class StudyTable(ArchivedFields):
    """A studies table of a survey's folder; `since` is the format version that added the whole table (older
    archives import with it empty); `by_place` are fields given by the folder the rows are in."""

    since: int = 1
    by_place: tuple[str, ...] = ()

    @property
    def archived(self) -> set[str]:
        return {*super().archived, *self.by_place}


SURVEYS = StudyTable(
    Survey,
    "survey.json",
    copied=(
        "name",
        "model_alias",
        "real_count",
        "synthetic_count",
        "seed",
        "status",
        "allow_going_back",
        "reader_title",
        "instructions",
        "last_audit_passed",
        "last_audit_report",
        "last_audit_fingerprint",
    ),
    times=("created_at", "opened_at", "closed_at", "rendered_at", "last_audit_at"),
    related={
        "model_dataset": "model_dataset",
        "real_dataset": "real_dataset",
        "display_policy": "display_policy",
        "design": "design",
    },
    left_out={"id": EXPORTING_SITE_ID, "created_by": "a person of the exporting site"},
    added_in={"design": (2, {})},
)
ITEM_LEFT_OUT = {"id": EXPORTING_SITE_ID}
ITEMS = StudyTable(
    Item,
    "items.json",
    copied=("public_id", "truth", "axial_layer", "payload_sha256"),
    related={"slice": "source", "payload": "payload"},
    by_place=("survey",),
    left_out=ITEM_LEFT_OUT,
)
PRACTICE_ITEMS = StudyTable(
    PracticeItem,
    "practice-items.json",
    copied=("public_id", "truth", "axial_layer", "payload_sha256"),
    related={"slice": "source", "payload": "payload"},
    by_place=("survey",),
    left_out=ITEM_LEFT_OUT,
    since=2,
)
ASSIGNMENTS = StudyTable(
    Assignment,
    "assignments.json",
    copied=("seed", "reminder_count"),
    times=("created_at", "last_activity_at", "completed_at", "last_reminded_at"),
    related={"reader": "reader", "item_order": "item_order", "practice_order": "practice_order"},
    by_place=("survey",),
    left_out={
        "id": EXPORTING_SITE_ID,
        "key": "the reader's secret link on the exporting site; a restored assignment gets a new one",
        "invitation": "invitations are archived without tokens and not linked to the reader they let in",
        "is_audit": "the blinding audit's throwaway assignments are never archived",
    },
    added_in={"practice_order": (2, [])},
)
READER_PROFILES = StudyTable(
    ReaderProfile,
    "assignments.json",
    related={
        "user": "reader",
        "specialty": "reader_specialty",
        "years_of_experience": "reader_years_of_experience",
    },
    left_out={"id": EXPORTING_SITE_ID, "updated_at": "when the reader last changed the profile"},
)
READERS = StudyTable(
    get_user_model(),
    "assignments.json",
    related={"username": "reader"},
    left_out={
        "id": EXPORTING_SITE_ID,
        "password": "restored readers cannot sign in here",
        "last_login": "personal data: readers appear under pseudonyms only",
        "is_superuser": "restored readers hold no rights here",
        "first_name": "personal data: readers appear under pseudonyms only",
        "last_name": "personal data: readers appear under pseudonyms only",
        "email": "personal data: readers appear under pseudonyms only",
        "is_staff": "restored readers hold no rights here",
        "is_active": "restored readers are inactive here",
        "date_joined": "personal data: readers appear under pseudonyms only",
        "groups": "restored readers hold no rights here",
        "user_permissions": "restored readers hold no rights here",
    },
)
INVITATIONS = StudyTable(
    Invitation,
    "invitations.json",
    times=("created_at", "expires_at", "used_at", "revoked_at"),
    related={"used_by": "used_by"},
    by_place=("survey",),
    left_out={
        "id": EXPORTING_SITE_ID,
        "token": "a secret that lets a reader in",
        "email": "personal data: where the invitation was sent",
        "label": "personal data: whom the invitation was for",
        "created_by": "a person of the exporting site",
    },
)
ANSWERS = StudyTable(
    Answer,
    "answers.json",
    copied=(*ANSWER_CONTENT, "revision_count"),
    times=("created_at", "updated_at"),
    keys=("client_key",),
    related={"assignment": "reader", "item": "item"},
    left_out={"id": EXPORTING_SITE_ID},
    added_in=ANSWER_ADDED_IN,
)
REVISIONS = StudyTable(
    AnswerRevision,
    "revisions.json",
    copied=(*ANSWER_CONTENT, "revision"),
    times=("created_at",),
    keys=("client_key",),
    related={"answer": "item", "assignment": "reader"},
    left_out={"id": EXPORTING_SITE_ID},
    added_in=ANSWER_ADDED_IN,
)
PRACTICE_ANSWERS = StudyTable(
    PracticeAnswer,
    "practice-answers.json",
    copied=PRACTICE_CONTENT,
    times=("created_at",),
    keys=("client_key",),
    related={"assignment": "reader", "practice_item": "practice_item"},
    left_out={"id": EXPORTING_SITE_ID},
    added_in=dict.fromkeys(VIEWER_STATE_FIELDS, (3, None)),
    since=2,
)
ROUNDS = StudyTable(
    ReadingRound,
    "rounds.json",
    copied=("number",),
    times=("opens_at", "created_at", "completed_at"),
    related={"assignment": "reader", "item_order": "item_order"},
    left_out={"id": EXPORTING_SITE_ID},
    since=2,
)
REPEAT_ANSWERS = StudyTable(
    RepeatAnswer,
    "repeat-answers.json",
    copied=ANSWER_CONTENT,
    times=("created_at",),
    keys=("client_key",),
    related={"reading_round": "round", "item": "item"},
    left_out={"id": EXPORTING_SITE_ID},
    added_in=ANSWER_ADDED_IN,
    since=2,
)
ARCHIVED = (
    SURVEYS,
    ITEMS,
    PRACTICE_ITEMS,
    ASSIGNMENTS,
    READER_PROFILES,
    READERS,
    INVITATIONS,
    ANSWERS,
    REVISIONS,
    PRACTICE_ANSWERS,
    ROUNDS,
    REPEAT_ANSWERS,
)
# Models of the studies app whose rows an archive does not hold, and why.
NOT_ARCHIVED = {
    BlindingAudit: "the audit jobs stay on the exporting site; the last audit's verdict, report and fingerprint are "
    "archived on the survey, and the audit rows of every audit job",
}


# --- Export ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportedSurvey:
    """A survey's tables as the archive writes them (file name -> rows), its items and practice items (whose rows
    and payloads the archive writes with their sources), and the objects whose audit rows go with it."""

    tables: dict[str, object]
    items: list[Item]
    practice_items: list[PracticeItem]
    audit_targets: dict[str, list[int]]


def survey_tables(
    survey: Survey, *, pseudonyms: Mapping[int, str], datasets: Mapping[str, dict]
) -> ExportedSurvey:
    """Everything of `survey` an archive holds but its items' rows and payloads; readers under `pseudonyms` (user
    id -> pseudonym), the survey's datasets as `datasets` describes them ("model", "real")."""
    items = list(survey.items.order_by("id"))
    practice_items = list(survey.practice_items.order_by("id"))
    public = {item.pk: item.public_id for item in items}
    practice_public = {item.pk: item.public_id for item in practice_items}
    audit = survey.blinding_audits.order_by("-created_at").first()
    tables: dict[str, object] = {
        SURVEYS.table: {
            **SURVEYS.dump(survey),
            "model_dataset": datasets["model"],
            "real_dataset": datasets["real"],
            "display_policy": survey.display_policy.to_dict(),
            "design": survey.design.to_dict(),
            "last_blinding_audit_job": audit.pk if audit else None,
        }
    }
    assignments = list(
        survey.assignments.filter(is_audit=False)
        .select_related("reader__reader_profile")
        .order_by("reader_id")
    )
    rows = []
    for assignment in assignments:
        profile = getattr(assignment.reader, "reader_profile", None)
        rows.append(
            {
                **ASSIGNMENTS.dump(assignment),
                "reader": pseudonyms[assignment.reader_id],
                "reader_specialty": profile.specialty if profile else "",
                "reader_years_of_experience": profile.years_of_experience if profile else None,
                "item_order": [public[pk] for pk in assignment.item_order],
                "practice_order": [practice_public[pk] for pk in assignment.practice_order or []],
            }
        )
    tables[ASSIGNMENTS.table] = rows
    invitations = list(survey.invitations.order_by("created_at", "id"))
    tables[INVITATIONS.table] = [
        {
            **INVITATIONS.dump(invitation),
            "used_by": pseudonyms.get(invitation.used_by_id) if invitation.used_by_id else None,
            "state": invitation.state,
        }
        for invitation in invitations
    ]
    answers = list(
        Answer.objects.filter(item__survey=survey, assignment__is_audit=False)
        .select_related("assignment")
        .order_by("id")
    )
    tables[ANSWERS.table] = [
        {
            "reader": pseudonyms[answer.assignment.reader_id],
            "item": public[answer.item_id],
            **ANSWERS.dump(answer),
        }
        for answer in answers
    ]
    revisions = AnswerRevision.objects.filter(answer__in=answers).select_related("answer", "assignment")
    tables[REVISIONS.table] = [
        {
            "reader": pseudonyms[revision.assignment.reader_id],
            "item": public[revision.answer.item_id],
            **REVISIONS.dump(revision),
        }
        for revision in revisions.order_by("id")
    ]
    practice_answers = list(
        PracticeAnswer.objects.filter(assignment__in=assignments).select_related("assignment").order_by("id")
    )
    tables[PRACTICE_ANSWERS.table] = [
        {
            "reader": pseudonyms[answer.assignment.reader_id],
            "practice_item": practice_public[answer.practice_item_id],
            **PRACTICE_ANSWERS.dump(answer),
        }
        for answer in practice_answers
    ]
    rounds = list(
        ReadingRound.objects.filter(assignment__in=assignments).select_related("assignment").order_by("id")
    )
    tables[ROUNDS.table] = [
        {
            "reader": pseudonyms[reading_round.assignment.reader_id],
            "item_order": [public[pk] for pk in reading_round.item_order],
            **ROUNDS.dump(reading_round),
        }
        for reading_round in rounds
    ]
    repeat_answers = list(
        RepeatAnswer.objects.filter(reading_round__in=rounds)
        .select_related("reading_round__assignment")
        .order_by("id")
    )
    tables[REPEAT_ANSWERS.table] = [
        {
            "reader": pseudonyms[answer.reading_round.assignment.reader_id],
            "round": answer.reading_round.number,
            "item": public[answer.item_id],
            **REPEAT_ANSWERS.dump(answer),
        }
        for answer in repeat_answers
    ]
    audit_targets = {
        "studies.practiceitem": [item.pk for item in practice_items],
        "studies.practiceanswer": [answer.pk for answer in practice_answers],
        "studies.readinground": [reading_round.pk for reading_round in rounds],
        "studies.repeatanswer": [answer.pk for answer in repeat_answers],
        "studies.survey": [survey.pk],
        "studies.item": [item.pk for item in items],
        "studies.answer": [answer.pk for answer in answers],
        "studies.assignment": [assignment.pk for assignment in assignments],
        "studies.invitation": [invitation.pk for invitation in invitations],
        "studies.blindingaudit": list(survey.blinding_audits.values_list("pk", flat=True)),
    }
    return ExportedSurvey(tables, items, practice_items, audit_targets)


# --- Import ----------------------------------------------------------------------------------------------------

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


def _insert(instance: models.Model, *, where: str, exclude: Sequence[str] = ()) -> models.Model:
    """Insert a row as it was archived (its stored times kept, not stamped now, as loaddata does), after its
    fields pass their own validation (types, lengths, ranges, choices); ArchiveValueError (one line) otherwise."""
    related = [f.name for f in instance._meta.concrete_fields if f.is_relation]
    try:
        instance.full_clean(exclude=[*related, *exclude], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        message = " ".join(" ".join(messages).split())[:200]
        raise ArchiveValueError(f"{where}: {field}: {message}") from None
    instance.save_base(raw=True)
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
            _insert(
                ReaderProfile(
                    user=user,
                    specialty=assignment_row.get("reader_specialty") or "",
                    years_of_experience=assignment_row.get("reader_years_of_experience"),
                ),
                where=f"the profile of {username}",
                exclude=["updated_at"],
            )
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
