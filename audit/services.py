from django.db import models, transaction

from audit.models import AuditEvent


def record_event(*, actor, verb: str, target: models.Model, details: dict | None = None) -> AuditEvent:
    """Write an audit row; callers run it inside the transaction of the change it describes."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of the change it records")
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        details=details or {},
    )
