"""A survey's studies rows as a study archive writes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from studies.archive.tables import (
    ANSWERS,
    ASSIGNMENTS,
    INVITATIONS,
    PAIR_ANSWERS,
    PAIRS,
    PRACTICE_ANSWERS,
    REPEAT_ANSWERS,
    REVISIONS,
    ROUNDS,
    SURVEYS,
)
from studies.models import (
    Answer,
    AnswerRevision,
    Item,
    PairAnswer,
    PracticeAnswer,
    PracticeItem,
    ReadingRound,
    RepeatAnswer,
    Survey,
)


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
    pairs = list(survey.pairs.order_by("id"))
    pair_public = {pair.pk: pair.public_id for pair in pairs}
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
                "pair_plan": [[pair_public[pk], side] for pk, side in assignment.pair_plan or []],
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
    tables[PAIRS.table] = [
        {
            **PAIRS.dump(pair),
            "real_item": public[pair.real_item_id],
            "synthetic_item": public[pair.synthetic_item_id],
        }
        for pair in pairs
    ]
    pair_answers = list(
        PairAnswer.objects.filter(assignment__in=assignments).select_related("assignment").order_by("id")
    )
    tables[PAIR_ANSWERS.table] = [
        {
            "reader": pseudonyms[answer.assignment.reader_id],
            "pair": pair_public[answer.pair_id],
            **PAIR_ANSWERS.dump(answer),
        }
        for answer in pair_answers
    ]
    audit_targets = {
        "studies.pairanswer": [answer.pk for answer in pair_answers],
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
