from django.db import models, transaction

from audit.models import AuditEvent


def user_or_none(actor):
    """The signed-in user who acted, or None (a command, a worker, an anonymous request)."""
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def record_event(*, actor, verb: str, target: models.Model, details: dict | None = None) -> AuditEvent:
    """Write an audit row; callers run it inside the transaction of the change it describes."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of the change it records")
    return AuditEvent.objects.create(
        actor=user_or_none(actor),
        verb=verb,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        details=details or {},
    )
