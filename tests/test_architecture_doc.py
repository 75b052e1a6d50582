"""docs/architecture.md's generated blocks (the layers and the job kinds) say what the code says."""

import re

from scripts import architecture


def test_the_documented_layers_and_job_kinds_are_the_codes():
    document = architecture.DOC.read_text()
    assert architecture.render(document) == document, (
        "docs/architecture.md is out of date: run scripts/architecture.py"
    )


def test_every_job_kind_and_every_layer_appears_in_the_document():
    from jobs.services import job_models

    document = architecture.DOC.read_text()
    for model in job_models():
        assert f"`{model._meta.label}`" in document
    layers = next(c for c in architecture.import_contracts() if c["type"] == "layers")["layers"]
    for layer in layers:
        for name in layer.split("|"):
            assert re.search(rf"`{name.strip()}`", document), name


def test_a_stale_block_is_found(tmp_path):
    document = architecture.DOC.read_text()
    stale = document.replace("`reports.ReportJob`", "`reports.OldReportJob`", 1)
    assert architecture.render(stale) != stale
