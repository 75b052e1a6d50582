"""Slab items: the design option through the one door, items a slab fits around in both pools, every slab
rendered onto one grid as one fixed-size payload, the reader page's configuration, and the views an answer
records."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from imaging.selectors import ct_slice_z
from studies.design import DesignError, StudyDesign
from studies.models import Answer, Item, PracticeAnswer, Survey
from studies.rendering import decode_payload
from studies.selectors import item_at, rendered_slab
from studies.services import StudyError, do_change_survey_settings
from studies.slabs import SlabGrid, has_room
from tests.studies.conftest import answer_body, store_ct_dataset
from tests.studies.test_commands import create_args

SLAB = StudyDesign(slab_thickness_mm=24, slab_spacing_mm=2.0)  # 13 planes; the test volumes are 3 mm apart


@pytest.mark.parametrize(
    "options, message",
    [
        ({"slab_thickness_mm": 5}, "slab_thickness_mm must be 0 (no slab) or 10..400 mm, not 5"),
        ({"slab_thickness_mm": 401}, "slab_thickness_mm must be 0 (no slab) or 10..400 mm, not 401"),
        ({"slab_thickness_mm": 24.0}, "slab_thickness_mm must be a whole number, not 24.0"),
        ({"slab_thickness_mm": 20, "slab_spacing_mm": 0.1}, "slab_spacing_mm must be 0.5..10 mm, not 0.1"),
        ({"slab_thickness_mm": 20, "slab_spacing_mm": True}, "slab_spacing_mm must be a number, not True"),
        (
            {"slab_thickness_mm": 20, "slab_spacing_mm": 4},
            "slab_thickness_mm (20) must be an even number of slab_spacing_mm (4), so the slab has a middle plane",
        ),
        (
            {"slab_thickness_mm": 20, "stack_k": 1},
            "a survey reads stacks (stack_k) or slabs (slab_thickness_mm), not both",
        ),
        (
            {"slab_thickness_mm": 400, "slab_spacing_mm": 0.5},
            "a slab of 400 mm at 0.5 mm has 801 planes, more than 401",
        ),
    ],
)
def test_a_bad_slab_is_refused_in_one_line(options, message):
    with pytest.raises(DesignError) as caught:
        StudyDesign(**options)
    assert str(caught.value) == message


def test_a_slab_is_an_odd_number_of_planes_with_the_item_slice_in_the_middle():
    design = StudyDesign(slab_thickness_mm=160, slab_spacing_mm=2.5)
    assert design.is_slab and design.scrolls and not design.is_stack
    assert (design.stack_slices, design.centre_slice) == (65, 32)
    assert StudyDesign.from_dict(design.to_dict()) == design
    assert "slab of 160 mm (65 planes 2.5 mm apart)" in design.describe()
    assert StudyDesign.from_dict({"stack_k": 2}).centre_slice == 2  # stored designs without the slab keys


def test_a_slab_survey_picks_items_a_slab_fits_around_and_stores_one_payload_size(make_survey, pools):
    survey = make_survey(design=SLAB)
    grid = SlabGrid(24, 2.0)
    z = {**ct_slice_z(pools.real), **ct_slice_z(pools.synthetic)}
    assert survey.payload_bytes == 13 * 64 * 64 * 2
    sizes = set()
    for item in survey.items.select_related("slice__volume"):
        volume = item.slice.volume
        assert has_room(z[f"{volume.series_key}/{volume.modality}"], item.slice.z_mm, grid)
        with default_storage.open(item.payload, "rb") as handle:
            data = handle.read()
        sizes.add(len(data))
        slab = decode_payload(data, 64, 13)
        expected, _ = rendered_slab(item.slice, survey.display_policy, survey.design)
        assert np.array_equal(slab, expected)
    assert sizes == {13 * 64 * 64 * 2}
    assert {item.truth for item in survey.items.all()} == {"real", "synthetic"}


def test_a_pool_without_room_for_the_slab_is_refused_in_one_line_and_nothing_is_stored(
    db, make_survey, pools
):
    short_model = store_ct_dataset("Short model", kind="sct", contrast=True, seed=6, slices=6)  # 15 mm
    with pytest.raises(StudyError) as caught:
        make_survey(model_dataset=short_model, design=SLAB)
    assert str(caught.value) == (
        "dataset 'Short model' has no volume that covers a 24 mm slab (each slab needs its volume's slices on "
        "both sides of its centre slice, without gaps)"
    )
    assert not Survey.objects.exists() and not Item.objects.exists()


def test_a_slab_needs_one_field_of_view_for_the_survey(make_survey):
    with pytest.raises(StudyError, match="slab reading needs one field of view for the survey"):
        make_survey(design=SLAB, field_of_view="per_slice")


def test_the_slab_cannot_be_changed_after_creation(make_survey):
    survey = make_survey(design=SLAB)
    with pytest.raises(StudyError, match="the slab is chosen when the survey is created"):
        do_change_survey_settings(
            survey=survey, actor=None, design=survey.design.replace(slab_thickness_mm=12)
        )


def test_a_draft_slab_survey_keeps_one_field_of_view(make_survey):
    survey = make_survey(design=SLAB)
    with pytest.raises(StudyError) as caught:
        do_change_survey_settings(
            survey=survey,
            actor=None,
            policy=survey.display_policy.replace(field_of_view="per_slice", field_of_view_mm=None),
        )
    assert str(caught.value).startswith("slab reading needs one field of view for the survey")
    survey.refresh_from_db()
    assert not survey.display_policy.per_slice_field_of_view


def test_create_survey_takes_a_slab(pools):
    out = StringIO()
    call_command(*create_args(pools, **{"--slab-thickness": "24", "--slab-spacing": "2"}), stdout=out)
    assert "13 slices each" in out.getvalue() and "slab of 24 mm (13 planes 2 mm apart)" in out.getvalue()
    assert Survey.objects.get().design == SLAB


# --- the reader's page and answers ---------------------------------------------------------------------------


@pytest.fixture
def slab_reading(make_survey, join, client):
    survey = make_survey(open_it=True, design=SLAB)
    assignment = join(survey)
    client.force_login(assignment.reader)
    return survey, assignment, client


def _config(html):
    return json.loads(html.split('id="reader-config" type="application/json">')[1].split("</script>")[0])


def test_the_reader_page_has_the_three_views_and_the_slab_geometry(slab_reading):
    survey, assignment, client = slab_reading
    html = client.get(reverse("studies:item", args=[assignment.key, 1])).content.decode()
    config = _config(html)
    assert config["stack"] == {"slices": 13, "k": 6}
    assert config["slab"] == {
        "thicknessMm": 24,
        "spacingMm": 2.0,
        "mmPerPixel": survey.display_policy.mm_per_pixel,
    }
    for testid in ("slice-canvas", "coronal-canvas", "sagittal-canvas", "switch-reformat", "stack-scroll"):
        assert f'data-testid="{testid}"' in html
    assert "slab_viewer.js" in html and "slab_viewer.css" in html
    assert "Slice 7 of 13" in html
    item = item_at(assignment, 1)
    response = client.get(reverse("studies:pixels", args=[assignment.key, item.public_id]))
    assert len(response.content) == 13 * 64 * 64 * 2


def slab_body(**overrides):
    return answer_body(
        slices_visited=[0, 1, -6],
        seconds_per_slice=[0.0] * 13,
        views_used=["axial", "sagittal", "coronal"],
        seconds_per_view=[4.0, 1.5, 2.25],
        **overrides,
    )


def test_the_views_used_and_the_seconds_in_each_are_stored(slab_reading):
    survey, assignment, client = slab_reading
    item = item_at(assignment, 1)
    response = client.post(
        reverse("studies:answer", args=[assignment.key, item.public_id]),
        json.dumps(slab_body()),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    answer = Answer.objects.get()
    assert answer.views_used == ["axial", "sagittal", "coronal"]
    assert answer.seconds_per_view == [4.0, 1.5, 2.25]
    assert answer.revisions.get().views_used == ["axial", "sagittal", "coronal"]
    assert answer.slices_visited == [0, 1, -6]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"views_used": None}, "views_used must be a list of views (axial, coronal, sagittal)"),
        (
            {"views_used": ["axial", "oblique"]},
            "views_used must be a list of views (axial, coronal, sagittal)",
        ),
        ({"views_used": ["axial", "axial"]}, "views_used must name each view once"),
        ({"views_used": ["coronal", "axial"]}, "views_used must start with the axial view"),
        (
            {"seconds_per_view": [1, 2]},
            "seconds_per_view must be a list of 3 numbers (axial, coronal, sagittal)",
        ),
        ({"seconds_per_view": [1, -2, 3]}, "seconds_per_view must be between 0 and"),
        ({"slices_visited": [0, 7]}, "slices_visited must be a list of offsets -6..6"),
    ],
)
def test_garbage_views_get_400_with_one_line_and_nothing_is_stored(slab_reading, overrides, message):
    survey, assignment, client = slab_reading
    item = item_at(assignment, 1)
    response = client.post(
        reverse("studies:answer", args=[assignment.key, item.public_id]),
        json.dumps({**slab_body(), **overrides}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert not Answer.objects.exists() and not PracticeAnswer.objects.exists()


def test_a_survey_without_a_slab_refuses_views(make_survey, join, client):
    survey = make_survey(open_it=True)
    assignment = join(survey)
    client.force_login(assignment.reader)
    item = item_at(assignment, 1)
    response = client.post(
        reverse("studies:answer", args=[assignment.key, item.public_id]),
        json.dumps(answer_body(views_used=["axial"], seconds_per_view=[1, 0, 0])),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "this survey shows no slab: send no views_used or seconds_per_view"
