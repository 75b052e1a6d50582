"""docs/api.md's scripted study, run exactly as written against a live server with a real Celery worker, while
three simulated readers answer on the reader side once the survey opens: the document cannot fall out of date."""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connections

from api.services import issue_token
from reports.models import DownloadLog
from studies.models import Survey
from studies.services import ensure_study_groups
from studies.simulation import simulate_readers
from tests.projects.factories import make_member
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def doc_script() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), flags=re.S)
    assert len(blocks) == 1, "docs/api.md should hold exactly one Python block: the scripted study"
    return blocks[0]


def readers_answer_when_open(errors: list):
    """What the invited readers do in their browsers, done by simulated readers through the same services."""
    try:
        survey = wait_until(
            lambda: Survey.objects.filter(name__startswith="Scripted study", status="open").first(),
            timeout_s=240,
            what="the scripted survey to open",
        )
        simulate_readers(survey, 3, seed=5, skill=0.4)
    except Exception as exc:  # reported by the test, not lost in the thread
        errors.append(exc)
    finally:
        connections.close_all()


def test_the_scripted_study_in_docs_runs_against_a_live_server(
    live_server, celery_worker, django_user_model, tmp_path, settings
):
    settings.STUDIES_SITE_URL = live_server.url
    ensure_study_groups()
    admin = django_user_model.objects.create_user("scripter", password="pw-scripter-1")
    make_member(admin, "admin")
    key = issue_token(user=admin).key
    errors: list = []
    readers = threading.Thread(target=readers_answer_when_open, args=(errors,), daemon=True)
    readers.start()
    script = tmp_path / "scripted_study.py"
    script.write_text(doc_script())
    run = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BLINDREAD_URL": live_server.url,
            "BLINDREAD_TOKEN": key,
            "BLINDREAD_OUT": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=280,
    )
    readers.join(timeout=60)
    assert not errors, errors
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 readers finished, 30 answers" in run.stdout
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert len((tmp_path / "answers.csv").read_text().splitlines()) == 31
    survey = Survey.objects.get(name__startswith="Scripted study")
    assert survey.status == "closed" and survey.items.count() == 10
    logged = DownloadLog.objects.filter(via="api", user=admin).values_list("what", flat=True)
    assert sorted(logged) == ["answers_csv", "answers_json", "pdf", "stats_json"]
