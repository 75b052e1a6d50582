"""`manage.py check --deploy` is clean under production settings (and warns when rate limits would be kept
per process)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def deploy_check(tmp_path, **overrides):
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DJANGO_DEBUG",
            "SECRET_KEY",
            "CELERY_BROKER_URL",
            "BLINDREAD_PSEUDONYM_KEY",
        }
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECURE": "1",
            "DJANGO_DEBUG": "0",
            "SECRET_KEY": "q8v!t2#Lw9zR4m@Xc7pK1sN6yB3hJ5dF0gA8eU2iO4lT9rW6vQ1xZ7cM3nP5bY0k",
            "ALLOWED_HOSTS": "blindread.example.org",
            "REDIS_URL": "redis://127.0.0.1:6379/12",
            "BLINDREAD_PSEUDONYM_KEY": "Zr5mT1qW8xK3vN6bP0cH9sJ2gL4fD7aY5eU1iO8kR3tQ6wB0",
            "BLINDREAD_VAR_DIR": str(tmp_path),
        }
    )
    env.update(overrides)
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = deploy_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_when_rate_limits_live_in_process_memory(tmp_path):
    result = deploy_check(tmp_path, REDIS_URL=None)
    assert result.returncode != 0
    assert "studies.W001" in result.stderr + result.stdout


def test_check_deploy_refuses_the_local_pseudonym_key(tmp_path):
    result = deploy_check(tmp_path, BLINDREAD_PSEUDONYM_KEY=None)
    assert result.returncode != 0
    assert "imaging.E001" in result.stderr + result.stdout
