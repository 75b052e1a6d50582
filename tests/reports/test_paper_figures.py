"""The paper's image figures (Figs. 4, 8, 9, 10): which slices they show, that readers' items are shown as readers
were sent them, that the report job stores every figure and table as files of their own (PNG at 300 dpi, SVG,
CSV), the same ones when recomputed, and that only researchers get them."""

import csv
import io
import struct
from types import SimpleNamespace

import numpy as np
import pytest
from django.urls import reverse

from generation.services import generate_now, start_generation
from imaging.models import Dataset
from imaging.pixels import load_slice_pixels
from imaging.rendering import window_to_uint8
from projects.services import create_project
from reports import figure_selectors, selectors
from reports.content.exports import AnswerRow
from reports.content.paper_figures import (
    comment_rows,
    comments_csv,
    discussed_items,
    figure_rng,
    most_discussed,
    representative_by_layer,
)
from reports.content.paper_figures.discussed import reason_counts
from reports.models import DownloadLog
from reports.services import report_now
from studies.models import Item, Survey
from studies.rendering import render_slice
from studies.services.surveys import _render_items
from tests.generation.factories import make_mri_dataset, register_small, small_multimodal
from tests.metrics.factories import make_ct_dataset
from tests.projects.factories import make_member
from tests.reports.study_factory import make_survey

PAPER_KEYS = ["fig4-axial-layers", "fig8-spectra-of-two-slices", "fig10-most-discussed-items", "comments"]


def stored(layer, patient, index):
    return SimpleNamespace(layer=layer, patient=patient, index=index)


def answer(item, reader, reason, *, survey="S", choice="real", rating=None, scale="none"):
    return AnswerRow(
        survey=survey, model_alias="A", model="M", reader=reader, reader_specialty="", reader_years_of_experience=None,
        item=item, truth="synthetic", answer=choice, reason=reason, seconds_on_slice=3.0, window_width=400.0,
        window_level=40.0, window_changed=False, zoom=1.0, axial_layer=4, revisions=1, answered_at=None,
        rating_scale=scale, rating=rating,
    )  # fmt: skip


def png_dpi(content: bytes) -> float:
    """The resolution a PNG declares (its pHYs chunk, pixels per metre), in dots per inch."""
    at = content.index(b"pHYs")
    per_metre, _, unit = struct.unpack(">IIB", content[at + 4 : at + 13])
    assert unit == 1
    return per_metre * 0.0254


# --- Choosing what to show ---------------------------------------------------------------------------------------


def test_each_layer_shows_the_middle_slice_of_a_patient_drawn_by_the_seed():
    slices = [
        stored(layer, patient, index) for layer in (1, 2) for patient in ("P1", "P2") for index in (3, 1, 2)
    ]
    first = representative_by_layer(slices, figure_rng("fig4", "Real CT"))
    assert sorted(first) == [1, 2]
    assert all(chosen.index == 2 for chosen in first.values())  # the middle of indices 1, 2, 3
    assert representative_by_layer(slices, figure_rng("fig4", "Real CT")) == first
    patients = {
        tuple(chosen.patient for chosen in representative_by_layer(slices, figure_rng("fig4", name)).values())
        for name in ("a", "b", "c", "d", "e", "f", "g", "h")
    }
    assert len(patients) > 1  # the seed decides, not the order of the slices


def test_the_most_discussed_items_are_those_with_the_most_reasons_ties_drawn_by_the_seed():
    rows = [answer("x", f"R{n}", "because") for n in range(3)]
    rows += [answer(item, f"R{n}", "why" if n < 2 else "") for item in ("y", "z", "w") for n in range(3)]
    rows += [answer("silent", "R1", "  ")]
    counts = reason_counts(rows)
    assert counts[("S", "silent")] == 0
    chosen = most_discussed(counts, 3, figure_rng("fig10", "S"))
    assert chosen[0] == ("S", "x") and set(chosen[1:]) < {("S", "y"), ("S", "z"), ("S", "w")}
    assert most_discussed(counts, 3, figure_rng("fig10", "S")) == chosen
    assert ("S", "silent") not in most_discussed(counts, 10, figure_rng("fig10", "S"))


def test_a_discussed_item_counts_every_answer_and_bins_its_ratings_on_its_scale():
    rows = [
        answer("x", "R1", "ribs asymmetric", choice="synthetic", rating=5, scale="five_point"),
        answer("x", "R2", "", choice="real", rating=1, scale="five_point"),
        answer("x", "R3", "hard to say", choice="indeterminable", rating=3, scale="five_point"),
        answer("x", "R4", "", choice="synthetic", rating=5, scale="five_point"),
    ]
    (item,) = discussed_items(rows, [("S", "x")])
    assert item.answer_counts == {"real": 1, "synthetic": 2, "indeterminable": 1}
    assert item.rating_histogram == [("1", 1), ("2", 0), ("3", 1), ("4", 0), ("5", 2)]
    assert [reason for _, _, reason in item.reasons] == ["hard to say", "ribs asymmetric"]
    slider = [answer("x", "R1", "", rating=value, scale="slider") for value in (0, 19, 20, 100)]
    assert discussed_items(slider, [("S", "x")])[0].rating_histogram == [
        ("0-20", 2), ("20-40", 1), ("40-60", 0), ("60-80", 0), ("80-100", 1)
    ]  # fmt: skip


def test_the_comments_csv_holds_every_reason_marks_fig_10s_and_defuses_formulas():
    rows = [
        answer("x", "R1", "=cmd|' /C calc'!A0"),
        answer("y", "R2", "kidneys, hyperdense"),
        answer("y", "R3", ""),
    ]
    table = list(csv.DictReader(io.StringIO(comments_csv(comment_rows(rows, {("S", "x")})).decode())))
    assert [(row["item"], row["in_figure_10"]) for row in table] == [("x", "yes"), ("y", "no")]
    assert not table[0]["reason"].startswith("=")
    assert table[1]["reason"] == "kidneys, hyperdense"


# --- What the report job draws and stores -----------------------------------------------------------------------


@pytest.fixture
def rendered_study(db, media_root):
    """One closed survey whose items were rendered through its display pipeline, as readers are sent them."""
    real = make_ct_dataset("Real CT", patients=3, slices_per_layer=3, seed=1)
    model = make_ct_dataset("Model A", kind=Dataset.Kind.SYNTHETIC_CT, patients=2, slices_per_layer=2, seed=2)
    survey = make_survey(
        "Survey 1", model=model, real=real, readers=5, seed=1, alias="In-n-out", status="draft"
    )
    _render_items(survey, [])
    Survey.objects.filter(pk=survey.pk).update(
        status="closed", opened_at=survey.created_at, closed_at=survey.created_at
    )
    survey.refresh_from_db()
    return survey


def test_fig_10_shows_each_item_as_readers_were_sent_it_at_the_surveys_default_window(rendered_study):
    survey = selectors.surveys_by_ids([rendered_study.pk])
    rows = selectors.answer_rows(survey)
    items = figure_selectors.most_discussed_items(survey, rows)
    assert 0 < len(items) <= figure_selectors.DISCUSSED_ITEMS
    policy = rendered_study.display_policy
    for shown in items:
        item = Item.objects.select_related("slice__volume").get(public_id=shown.item)
        volume = item.slice.volume
        as_sent = render_slice(
            load_slice_pixels(item.slice.pixels),
            row_spacing_mm=volume.row_spacing_mm,
            column_spacing_mm=volume.column_spacing_mm,
            policy=policy,
        )
        expected = window_to_uint8(
            as_sent, width=policy.default_window_width, level=policy.default_window_level
        )
        assert np.array_equal(shown.shown.pixels, expected)
        assert shown.truth == item.truth


def test_fig_8_pairs_fig_4s_real_and_synthetic_slice_of_one_layer_per_survey(rendered_study):
    surveys = selectors.surveys_by_ids([rendered_study.pk])
    layers = figure_selectors.layer_slices(surveys)
    assert [title for title, _ in layers.columns] == ["Real CT: Real CT", "In-n-out: Model A"]
    assert all(sorted(by_layer) == list(range(1, 11)) for _, by_layer in layers.columns)
    (pair,) = figure_selectors.spectral_pairs(surveys, layers)
    assert np.array_equal(pair.real_hu, layers.hu[rendered_study.real_dataset_id][pair.layer])
    assert np.array_equal(pair.synthetic_hu, layers.hu[rendered_study.model_dataset_id][pair.layer])
    again = figure_selectors.spectral_pairs(surveys, figure_selectors.layer_slices(surveys))
    assert again[0].layer == pair.layer and np.array_equal(again[0].synthetic_hu, pair.synthetic_hu)


def test_the_report_job_stores_every_figure_and_table_the_same_when_recomputed(rendered_study, media_root):
    first = report_now(surveys=[rendered_study])
    keys = [entry["key"] for entry in first.figures]
    assert keys[: len(PAPER_KEYS)] == PAPER_KEYS  # no generated model here: no Fig. 9
    assert {"table2-accuracy", "table3-chi-squared", "accuracy"} <= set(keys)
    files = {entry["key"]: entry["files"] for entry in first.figures}
    assert set(files["fig8-spectra-of-two-slices"]) == {"png", "svg"}
    assert set(files["comments"]) == {"csv"}
    fig4 = (media_root / files["fig4-axial-layers"]["png"]).read_bytes()
    assert fig4.startswith(b"\x89PNG") and round(png_dpi(fig4)) == 300
    page = (media_root / first.page_html).read_text()
    assert reverse("reports:figure", args=[first.pk, "fig4-axial-layers.png"]) in page
    assert "Readers' reasons, grouped by item" not in page
    second = report_now(surveys=[rendered_study])
    again = {entry["key"]: entry["files"] for entry in second.figures}
    for key in ("fig4-axial-layers", "fig10-most-discussed-items"):
        assert (media_root / again[key]["png"]).read_bytes() == (media_root / files[key]["png"]).read_bytes()


def test_figures_are_for_researchers_and_a_download_is_logged(
    client, rendered_study, researcher, reader, django_user_model
):
    job = report_now(surveys=[rendered_study])
    url = reverse("reports:figure", args=[job.pk, "fig8-spectra-of-two-slices.svg"])
    assert client.get(url).status_code == 302  # to sign in
    client.force_login(reader)
    assert client.get(url).status_code == 403
    client.force_login(researcher)
    shown = client.get(url)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/svg+xml"
    assert not DownloadLog.objects.exists()  # shown on the page: not a download
    downloaded = client.get(url + "?download=1")
    assert downloaded["Content-Disposition"].endswith('-fig8-spectra-of-two-slices.svg"')
    log = DownloadLog.objects.get()
    assert (log.what, log.surveys, log.user) == ("figure", ["Survey 1"], researcher)
    comments = client.get(reverse("reports:figure", args=[job.pk, "comments.csv"]))
    assert comments["Content-Type"] == "text/csv; charset=utf-8"
    for missing in ("fig4-axial-layers.svg", "nothing.png", "fig4-axial-layers.exe"):
        assert client.get(reverse("reports:figure", args=[job.pk, missing])).status_code == 404
    assert client.get(reverse("reports:figure", args=[job.pk + 1000, "comments.csv"])).status_code == 404
    # a researcher of another project: the figures reveal the truth of this project's slices
    outsider = django_user_model.objects.create_user("outsider", password="pw-outsider-1")
    make_member(outsider, "researcher", project=create_project(name="Another project"))
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(reverse("reports:figure", args=[job.pk, "comments.csv"])).status_code == 404


# --- Fig. 9: one MRI slice through every model ------------------------------------------------------------------


def test_fig_9_puts_one_mri_slice_through_every_model_that_made_a_slice_from_it(db, media_root):
    z = [0.0, 6.0, 12.0]
    make_mri_dataset("MRI", {("p1", "t1_in"): z, ("p1", "t1_out"): z})
    mri = Dataset.objects.get(name="MRI")
    single = register_small("single", inputs="t1_in")
    double = register_small("double", net=small_multimodal(2), inputs="t1_in,t1_out")
    outputs = {}
    for checkpoint, name in ((single, "All-in out"), (double, "In-n-out out")):
        job = start_generation(
            checkpoint=checkpoint, mri_dataset=mri, output_dataset_name=name, enqueue=False
        )
        generate_now(job, device="cpu", batch_size=2)
        outputs[checkpoint.name] = Dataset.objects.get(name=name)
    real = make_ct_dataset("Real CT", patients=2, slices_per_layer=1, seed=1)
    surveys = [
        make_survey(f"Survey {n}", model=model, real=real, per_side=2, readers=1, alias=alias)
        for n, (alias, model) in enumerate((("All-in", outputs["single"]), ("In-n-out", outputs["double"])))
    ]
    through = figure_selectors.mri_through_models(selectors.surveys_by_ids([s.pk for s in surveys]))
    assert through.patient == "p1" and through.modality == "t1_in"
    assert [row.model for row in through.rows] == ["All-in (single)", "In-n-out (double)"]
    assert [[shown.label for shown in row.inputs] for row in through.rows] == [
        ["T1 in-phase"],
        ["T1 in-phase", "T1 out-of-phase"],
    ]
    # the same MRI slice, at the same window, in both rows
    assert np.array_equal(through.rows[0].inputs[0].pixels, through.rows[1].inputs[0].pixels)
    assert through.rows[0].inputs[0].window == through.rows[1].inputs[0].window
    job = report_now(surveys=surveys)
    assert "fig9-one-mri-slice-through-every-model" in [entry["key"] for entry in job.figures]
