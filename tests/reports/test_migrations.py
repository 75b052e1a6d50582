"""Report jobs and download logs moved from metrics to reports (metrics 0010, reports 0001 and 0002): a database
that holds them before the move keeps every row, the permissions its groups and users hold, its admin log, and on
PostgreSQL the append-only trigger of the download log; the move also goes back."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from reports.models import DownloadLog, ReportJob

BEFORE_THE_MOVE = [("metrics", "0009_jobs_sent_at"), ("reports", None)]


def migrate(targets):
    """Migrate the test database to ``targets`` and return the historical apps there."""
    return MigrationExecutor(connection).migrate(targets).apps


@pytest.fixture
def before_the_move(transactional_db):
    """The test database as it was before the move; brought back to the latest migrations afterwards."""
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        yield migrate(BEFORE_THE_MOVE)
    finally:
        migrate(latest)
        ContentType.objects.clear_cache()


def constraint_names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def test_rows_permissions_and_admin_log_survive_the_move(before_the_move):
    old = before_the_move
    OldReportJob = old.get_model("metrics", "ReportJob")
    OldDownloadLog = old.get_model("metrics", "DownloadLog")
    OldContentType = old.get_model("contenttypes", "ContentType")
    OldPermission = old.get_model("auth", "Permission")
    OldUser = old.get_model(*get_user_model()._meta.label.split("."))
    OldLogEntry = old.get_model("admin", "LogEntry")
    report_type = OldContentType.objects.get(app_label="metrics", model="reportjob")
    assert not OldContentType.objects.filter(app_label="reports").exists()
    user = OldUser.objects.create(username="someone", password="!")
    user.user_permissions.add(
        OldPermission.objects.get(content_type__app_label="metrics", codename="view_downloadlog")
    )
    group = Group.objects.get_or_create(name="auditors")[0]
    group.permissions.add(OldPermission.objects.get(content_type=report_type, codename="view_reportjob").pk)
    done = OldReportJob.objects.create(
        survey_ids=[3, 1],
        selection_key="k" * 64,
        status="done",
        finished_at=timezone.now(),
        title="Old report",
    )
    queued = OldReportJob.objects.create(survey_ids=[2], selection_key="q" * 64)
    log = OldDownloadLog.objects.create(user_id=user.pk, what="pdf", via="web", surveys=["S"], byte_size=3)
    OldLogEntry.objects.create(
        user_id=user.pk, content_type=report_type, object_id=str(done.pk), object_repr="r", action_flag=2
    )

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()

    assert list(ReportJob.objects.order_by("pk").values_list("pk", "status", "title", "survey_ids")) == [
        (done.pk, "done", "Old report", [3, 1]),
        (queued.pk, "queued", "", [2]),
    ]
    assert list(DownloadLog.objects.values_list("pk", "user__username", "what")) == [
        (log.pk, "someone", "pdf")
    ]
    assert ReportJob.objects.create(survey_ids=[4], selection_key="n" * 64).pk > queued.pk
    assert set(
        ContentType.objects.filter(model__in=["reportjob", "downloadlog"]).values_list("app_label", flat=True)
    ) == {"reports"}
    moved = get_user_model().objects.get(pk=user.pk)
    assert moved.has_perm("reports.view_downloadlog") and not moved.has_perm("metrics.view_downloadlog")
    assert Group.objects.get(name="auditors").permissions.get().content_type.app_label == "reports"
    assert LogEntry.objects.get().get_edited_object() == ReportJob.objects.get(pk=done.pk)
    if connection.vendor == "postgresql":
        assert {"reports_reportjob_status_valid", "reports_reportjob_done_le_total"} <= constraint_names(
            "reports_reportjob"
        )
        refused = pytest.raises(
            IntegrityError, match="reports_downloadlog rows are append-only: DELETE refused"
        )
        with refused, transaction.atomic():
            DownloadLog.objects.all().delete()


def test_the_move_goes_back(before_the_move):
    old = before_the_move
    OldReportJob = old.get_model("metrics", "ReportJob")
    assert OldReportJob._meta.db_table == "metrics_reportjob"
    OldReportJob.objects.create(survey_ids=[1], selection_key="k" * 64)
    old.get_model("metrics", "DownloadLog").objects.create(what="pdf", via="command")
    assert (
        old.get_model("contenttypes", "ContentType")
        .objects.filter(app_label="metrics", model="reportjob")
        .exists()
    )
    if connection.vendor == "postgresql":
        assert "metrics_reportjob_status_valid" in constraint_names("metrics_reportjob")
        refused = pytest.raises(
            IntegrityError, match="metrics_downloadlog rows are append-only: UPDATE refused"
        )
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE metrics_downloadlog SET byte_size = 1")
