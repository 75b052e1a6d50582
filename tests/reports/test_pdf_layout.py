"""The report's PDF as a reader of it sees it: every page renders (poppler's pdftoppm), no text box overlaps
another (overprinted headers such as "CNN" over "Machine observer (logistic regression)"), nothing runs off the
page, the plots' titles fit their figures, and the FID note is said once."""

import itertools
import shutil
import subprocess

import matplotlib
import pymupdf
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from imaging.models import Dataset
from metrics.measures.vocabulary import METRICS
from metrics.services import create_metrics_job
from metrics.services.metric_runs import compute_now
from reports import selectors
from reports.content import figures
from reports.services import artefact, report_now
from tests.metrics.factories import make_ct_dataset
from tests.reports.study_factory import make_survey

OVERLAP_PT2 = 1.0
"""Two text boxes may touch (adjacent words, tight leading) but not share more than this many square points."""


@pytest.fixture
def pdf_study(db, media_root):
    """Two closed surveys of two models, whose metrics were computed without the FID weights."""
    real = make_ct_dataset("Real CT", patients=4, slices_per_layer=1, seed=1)
    surveys = []
    for n, (name, alias) in enumerate((("Model A", "In-n-out"), ("Model B", "All-in")), start=1):
        model = make_ct_dataset(
            name, kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=1, seed=n + 1
        )
        surveys.append(make_survey(f"Survey {n}", model=model, real=real, readers=4, seed=n, alias=alias))
        job = create_metrics_job(model_name=name, real_dataset_name="Real CT", queue=False)
        compute_now(job, extractor_loader=lambda: (None, "the FID weights file is not installed"))
    return surveys


def text_boxes(page) -> list[tuple[pymupdf.Rect, str]]:
    """Each span of text and its box: its width, and one font size high from its baseline (the glyphs, not the
    font's line gap, which lines set at their leading share by design)."""
    boxes = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            for span in line["spans"]:
                if span["text"].strip():
                    x0, _, x1, _ = span["bbox"]
                    baseline, size = span["origin"][1], span["size"]
                    boxes.append(
                        (pymupdf.Rect(x0, baseline - 0.8 * size, x1, baseline + 0.2 * size), span["text"])
                    )
    return boxes


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="needs poppler-utils (pdftoppm); .ci/run installs it"
)
def test_every_page_renders_and_no_text_overprints_or_leaves_the_page(pdf_study, tmp_path):
    job = report_now(surveys=pdf_study)
    pdf = artefact(job, "pdf")
    (tmp_path / "report.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(tmp_path / "report.pdf"), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    document = pymupdf.open(stream=pdf, filetype="pdf")
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == document.page_count > 5
    assert all(path.stat().st_size > 1000 for path in rendered)
    problems = []
    for number, page in enumerate(document, start=1):
        boxes = text_boxes(page)
        for box, text in boxes:
            if not page.rect.contains(box):
                problems.append(f"page {number}: {text!r} runs off the page")
        for (first, first_text), (second, second_text) in itertools.combinations(boxes, 2):
            shared = first & second
            if not shared.is_empty and shared.width * shared.height > OVERLAP_PT2:
                problems.append(f"page {number}: {first_text!r} overprints {second_text!r}")
    assert problems == [], "\n".join(problems)
    text = " ".join(page.get_text() for page in document)
    assert " ".join(text.split()).count("FID and KID were not computed") == 1
    assert "Machine observer (logistic regression)" in " ".join(text.split())
    for title in ("Fig. 4:", "Fig. 8:", "Fig. 10:"):
        assert title in text
    page = artefact(job, "page_html").decode()
    assert page.count("the FID weights file is not installed") == 1  # the page says it once too
    assert "Readers' reasons, grouped by item" not in text  # the comments are on the page and in the CSV


def test_every_plot_title_and_label_fits_inside_its_figure(pdf_study):
    report = selectors.report_for(selectors.surveys_by_ids([survey.pk for survey in pdf_study]))
    plots = {
        "accuracy": figures.accuracy_figure(report),
        "confusion": figures.confusion_figure(report),
        "layers": figures.layer_accuracy_figure(report),
        "metric curves": figures.metric_curves_figure(
            report.metric_rows, METRICS, figures.LAYERWISE_TITLE, columns=2
        ),
        "spectra": figures.spectra_figure(report.metric_rows),
    }
    problems = []
    for name, figure in plots.items():
        with matplotlib.rc_context(figures.STYLE):
            renderer = FigureCanvasAgg(figure).get_renderer()
            figure.draw(renderer)
            bounds = figure.bbox
            titles = [axes.title for axes in figure.axes] + [text for text in figure.texts]
            for text in titles:
                if not text.get_visible() or not text.get_text():
                    continue
                extent = text.get_window_extent(renderer)
                if extent.x0 < bounds.x0 - 1 or extent.x1 > bounds.x1 + 1 or extent.y1 > bounds.y1 + 1:
                    problems.append(f"{name}: {text.get_text()!r} is clipped")
    assert problems == []
