"""The demo's four closed surveys, made as the demo makes them (create_survey, simulated readers answering through
the answer service: 11, 8, 6 and 6 readers with the demo's skills and seeds, then closed), reported by a report
job: the GLMM variances and log-likelihood of each survey, and the likelihood-ratio statistic of the model
comparison, equal lme4::glmer's on the exported answers CSV (tests/reports/lme4/survey_glmm.R)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from imaging.models import Dataset
from reports.downloads import What, make_download
from reports.services import artefact, report_now
from studies.demo import CLOSED_SURVEYS, PER_SIDE
from studies.policy import DisplayPolicy
from studies.services import create_survey, do_audit_and_open, do_close_survey
from studies.simulation import simulate_readers
from studies.survey_input import SurveyInput
from tests.metrics.factories import make_ct_dataset

pytestmark = pytest.mark.django_db

SCRIPT = Path(__file__).parent / "lme4" / "survey_glmm.R"


def rscript_with_lme4() -> bool:
    if shutil.which("Rscript") is None:
        return False
    check = subprocess.run(
        ["Rscript", "-e", "library(lme4); library(jsonlite)"], capture_output=True, text=True, timeout=120
    )
    return check.returncode == 0


def demo_surveys():
    real = make_ct_dataset("Phantom CT (contrast)", patients=4, slices_per_layer=2, seed=1)
    surveys = []
    for index, (name, readers, skill, seed, _project) in enumerate(CLOSED_SURVEYS):
        alias = ("In'n out", "All-in", "Triple", "In'n out HUM")[index]
        model = make_ct_dataset(
            f"{alias} synthetic CT",
            kind=Dataset.Kind.SYNTHETIC_CT,
            patients=2,
            slices_per_layer=2,
            seed=10 + index,
        )
        survey = create_survey(
            options=SurveyInput(
                name=name,
                model=model.name,
                real_dataset=real.name,
                real=PER_SIDE,
                synthetic=PER_SIDE,
                seed=seed,
                display_policy=DisplayPolicy(matrix_size=64),
                model_alias=alias,
            )
        ).survey
        do_audit_and_open(survey=survey, actor=None)
        simulate_readers(survey, readers, seed=seed, skill=skill)
        surveys.append(do_close_survey(survey=survey, actor=None))
    return surveys


@pytest.mark.skipif(not rscript_with_lme4(), reason="R with lme4 and jsonlite is not installed (Rscript)")
def test_the_demo_surveys_glmm_equals_lme4_on_their_exported_answers(tmp_path):
    surveys = demo_surveys()
    job = report_now(surveys=surveys)
    stats = json.loads(artefact(job, "stats_json"))
    (tmp_path / "answers.csv").write_bytes(make_download(What.ANSWERS_CSV, surveys, user=None).content)
    subprocess.run(
        ["Rscript", str(SCRIPT), str(tmp_path / "answers.csv"), str(tmp_path / "lme4.json")],
        check=True,
        capture_output=True,
        timeout=600,
    )
    lme4 = json.loads((tmp_path / "lme4.json").read_text())
    ours = {entry["survey"]: entry for entry in stats["glmm"]["surveys"]}
    assert sorted(ours) == sorted(lme4["surveys"]) == [survey.name for survey in surveys]
    for name, reference in lme4["surveys"].items():
        fit = ours[name]
        assert fit["fit"]["converged"], fit["fit"]["convergence"]
        assert fit["fit"]["answer_count"] == reference["n"]
        assert fit["fit"]["log_likelihood"] == pytest.approx(reference["log_likelihood"], abs=1e-3), name
        for component in ("reader", "item"):
            expected = reference["variance"][component]
            assert abs(fit[f"{component}_variance"] - expected) <= max(0.02 * expected, 1e-3), (
                name,
                component,
            )
    omnibus = stats["model_comparison"]["omnibus"]
    comparison = lme4["comparison"]
    expected = 2 * (comparison["log_likelihood_full"] - comparison["log_likelihood_null"])
    assert omnibus["statistic"] == pytest.approx(max(expected, 0.0), abs=2e-3)
    assert stats["model_comparison"]["design"].startswith("split-plot")
