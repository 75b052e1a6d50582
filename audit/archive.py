"""How an app says which fields of its rows a study archive holds, and the audit rows in an archive.

Every app whose rows go into a study archive declares, per model, an :class:`ArchivedFields`: the fields written and
restored as they are (`copied`), as ISO 8601 times (`times`) or as UUID text (`keys`); the fields written under
another name by code of the app's own (`related`: a reader's pseudonym for the user, an item's public id for the
item); and the fields deliberately left out, each with the reason. The archive format test checks that every field
of every archived model is in exactly one of these, so a new field cannot be forgotten: it is archived (added in
one place, the declaration, which the export and import of the owning app both use) or it is said why not.

The audit app sits under every other, so the declaration lives here; it also declares its own rows: the audit events
of an archived survey are written (never restored: the import records its own row).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.utils.dateparse import parse_datetime

from audit.models import AuditEvent


class ArchiveValueError(ValueError):
    """A value of an archive's row that cannot be restored; one line."""


def archive_time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def restored_time(value, *, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) and len(value) <= 64 else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ArchiveValueError(f"{where}: not a time with its time zone: {str(value)[:64]!r}")
    return parsed


@dataclass(frozen=True)
class ArchivedFields:
    """Which fields of `model` an archive holds, in which file, and why the others are left out."""

    model: type[models.Model]
    table: str  # the archive file holding the rows (surveys/NN/<table>), or where the fields are written
    copied: tuple[str, ...] = ()
    times: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    related: Mapping[str, str] = field(
        default_factory=dict
    )  # field -> the key in the archive that stands for it
    left_out: Mapping[str, str] = field(default_factory=dict)  # field -> why it is not archived
    # Keys added to the format after version 1: key -> (the version that added it, its value in older archives).
    added_in: Mapping[str, tuple[int, object]] = field(default_factory=dict)

    @property
    def archived(self) -> set[str]:
        return {*self.copied, *self.times, *self.keys, *self.related}

    @property
    def archive_keys(self) -> set[str]:
        """The keys every row of the table carries."""
        return {*self.copied, *self.times, *self.keys, *self.related.values()}

    def dump(self, row: models.Model) -> dict:
        """The copied, time and key fields of `row`, as the archive writes them."""
        return {
            **{name: getattr(row, name) for name in self.copied},
            **{name: archive_time(getattr(row, name)) for name in self.times},
            **{name: str(getattr(row, name)) for name in self.keys},
        }

    def with_defaults(self, row: dict, version: int) -> dict:
        """`row` of an archive of `version`, with the keys added since at the value older archives mean."""
        missing = {key: default for key, (since, default) in self.added_in.items() if version < since}
        return {**missing, **row} if missing else row

    def load(self, row: dict, *, where: str) -> dict:
        """The copied, time and key fields of an archive's `row`, as model field values (ArchiveValueError)."""
        values = {name: row[name] for name in self.copied}
        for name in self.times:
            values[name] = restored_time(row[name], where=f"{where}: {name}")
        for name in self.keys:
            try:
                values[name] = uuid.UUID(str(row[name])[:64])
            except ValueError:
                raise ArchiveValueError(f"{where}: {name} is not a UUID") from None
        return values


AUDIT_EVENTS = ArchivedFields(
    AuditEvent,
    "audit-events.json",
    copied=("verb", "object_type", "object_id"),
    times=("created_at",),
    related={"actor": "actor", "details": "details"},
    left_out={"id": "the row's number on the exporting site"},
)
ARCHIVED = (AUDIT_EVENTS,)


def events_for_archive(targets: Mapping[str, Iterable[int]]) -> list[AuditEvent]:
    """The audit rows of the given objects (object type -> primary keys), oldest first."""
    events = []
    for object_type, ids in targets.items():
        events.extend(
            AuditEvent.objects.filter(object_type=object_type, object_id__in=[str(pk) for pk in ids])
        )
    return sorted(events, key=lambda event: (event.created_at, event.pk))


def archived_event(event: AuditEvent, *, actor: str | None) -> dict:
    """One audit row as the archive holds it: the actor as a pseudonym, no token in its details."""
    return {
        **AUDIT_EVENTS.dump(event),
        "actor": actor,
        "details": {key: value for key, value in event.details.items() if "token" not in key},
    }
