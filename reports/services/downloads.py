"""The log of report downloads: every download is one DownloadLog row plus an audit row."""

import hashlib
from collections.abc import Sequence

from django.db import transaction

from audit.services import record_event, user_or_none
from reports.models import DownloadLog


def record_download(
    *,
    user,
    what: str,
    content: bytes,
    surveys: Sequence[str] = (),
    models: Sequence[str] = (),
    via: str = DownloadLog.Via.WEB,
) -> DownloadLog:
    """Log one download (who, what, of which surveys and models, its size and sha256) with its audit row."""
    with transaction.atomic():
        log = DownloadLog.objects.create(
            user=user_or_none(user),
            what=what,
            via=via,
            surveys=list(surveys),
            models_compared=list(models),
            byte_size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )
        record_event(
            actor=user,
            verb="report.downloaded",
            target=log,
            details={"what": what, "via": via, "surveys": list(surveys), "models": list(models)},
        )
    return log
