"""A web process loads no heavy numerical library: after `django.setup()` (which loads every app's admin), the URL
configuration (every view, the API) and the template engines (which load every template tag library when the
first page is rendered), none of SciPy, Matplotlib, statsmodels, scikit-learn, scikit-image, pandas,
ReportLab or PyTorch is in `sys.modules`. The workers, commands and job runners load them when they run a job.

Checked in a fresh interpreter: the test process itself has long loaded all of them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy", "matplotlib", "statsmodels", "sklearn", "skimage", "pandas", "reportlab", "torch")

PROBE = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.urls import get_resolver
resolver = get_resolver()
resolver.url_patterns
def walk(patterns):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from walk(pattern.url_patterns)
        else:
            yield pattern.callback
views = list(walk(resolver.url_patterns))
from django.template import engines
libraries = sum(len(engine.engine.template_libraries) for engine in engines.all())
import config.wsgi
print(json.dumps({"views": len(views), "libraries": libraries, "loaded": sorted(name for name in sys.modules if "." not in name)}))
"""


def probe(extra_code: str = "") -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", extra_code + PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_web_process_loads_no_heavy_library():
    loaded = probe()
    assert loaded["views"] > 50  # the whole URL configuration was walked
    assert loaded["libraries"] > 10  # and every template tag library loaded, the project's own among them
    assert sorted(set(HEAVY) & set(loaded["loaded"])) == []


@pytest.mark.parametrize("library", ["scipy", "pandas"])
def test_the_probe_sees_a_heavy_library_that_a_web_module_loads(library):
    # The same probe, with a web module that imports a heavy library at its top (as a careless view would).
    loaded = probe(f"import {library}\n")
    assert library in loaded["loaded"]
