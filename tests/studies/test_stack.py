"""Stack reading: items with room for k neighbours in both pools, the whole stack pre-rendered under the centre
slice's geometry as one fixed-size payload, the answer's slices visited and seconds per slice, the admin and
command-line options, and one-line refusals for every bad input."""

import html
import json
from io import StringIO

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.urls import reverse

from imaging.selectors import ct_slice_indices
from reports.content.exports import answers_csv, answers_json, data_dictionary_csv
from reports.selectors import answer_rows
from studies.design import DesignError, StudyDesign
from studies.models import Answer, Item
from studies.policy import DisplayPolicy
from studies.rendering import decode_payload, display_geometry, render_stack, render_with_geometry
from studies.sampling import Candidate, stack_room_gaps, with_room_for_stack
from studies.selectors import item_at, source_pixels
from studies.services import StudyError, do_change_survey_settings, do_submit_answer, parse_answer_input
from studies.services.errors import AnswerRejected
from tests.projects.factories import make_member
from tests.studies.conftest import answer_body, body_slice, store_ct_dataset
from tests.studies.test_commands import create_args

# --- the design option ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("k, slices", [(0, 1), (1, 3), (2, 5), (3, 7), (5, 11)])
def test_stack_k_gives_2k_plus_1_slices_centred_on_offset_zero(k, slices):
    design = StudyDesign(stack_k=k)
    assert design.stack_slices == slices
    assert design.stack_offsets == tuple(range(-k, k + 1))
    assert design.is_stack is (k > 0)
    assert StudyDesign.from_dict(design.to_dict()) == design


@pytest.mark.parametrize(
    "value, message",
    [
        (-1, "stack_k must be 0 (one slice) or 1..5 (a stack of 2k+1 slices), not -1"),
        (6, "stack_k must be 0 (one slice) or 1..5 (a stack of 2k+1 slices), not 6"),
        ("2", "stack_k must be a whole number, not '2'"),
        (1.5, "stack_k must be a whole number, not 1.5"),
        (True, "stack_k must be a whole number, not True"),
        (None, "stack_k must be a whole number, not None"),
    ],
)
def test_stack_k_out_of_range_or_not_an_integer_is_refused_in_one_line(value, message):
    with pytest.raises(DesignError) as caught:
        StudyDesign(stack_k=value)
    assert str(caught.value) == message


# --- selection with room for the neighbours ------------------------------------------------------------------


def _candidates(volume_key, indices, layer=1):
    return [
        Candidate(slice_id=hash((volume_key, i)) % 10**9, volume_key=volume_key, index=i, layer=layer)
        for i in indices
    ]


def test_only_slices_with_k_neighbours_on_both_sides_in_their_own_volume_are_candidates():
    candidates = _candidates("a", range(0, 10)) + _candidates("b", [3, 4, 5])
    indices = {"a": set(range(0, 10)), "b": {2, 3, 4, 5, 6, 8}}  # b lacks indices 1 and 7
    room = with_room_for_stack(candidates, indices, 2)
    assert sorted((c.volume_key, c.index) for c in room) == [("a", i) for i in range(2, 8)] + [("b", 4)]
    assert with_room_for_stack(candidates, indices, 0) == candidates


def test_a_layer_without_room_for_the_stack_in_one_pool_is_named_in_one_line():
    real = _candidates("r", range(0, 10), layer=4) + _candidates("r2", range(0, 10), layer=5)
    synthetic = _candidates("s", range(0, 2), layer=4) + _candidates("s2", range(0, 10), layer=5)
    indices = {"r": set(range(10)), "r2": set(range(10)), "s": {0, 1}, "s2": set(range(10))}
    pools = {
        "'Real'": (real, with_room_for_stack(real, indices, 3)),
        "'Model'": (synthetic, with_room_for_stack(synthetic, indices, 3)),
    }
    assert stack_room_gaps(pools, 3) == [
        "stack of 7 needs 3 neighbours each side: layer 4 has no such slice in 'Model'"
    ]
    assert stack_room_gaps(pools, 0) == []


def test_a_stack_survey_picks_items_with_their_neighbours_in_the_same_volume(make_survey, pools):
    survey = make_survey(design=StudyDesign(stack_k=2))
    indices = {**ct_slice_indices(pools.real), **ct_slice_indices(pools.synthetic)}
    assert survey.items.count() == 20
    for item in survey.items.select_related("slice__volume"):
        volume = item.slice.volume
        key = f"{volume.series_key}/{volume.modality}"
        assert {item.slice.index + offset for offset in range(-2, 3)} <= indices[key]
        assert volume.dataset_id == (pools.real.pk if item.truth == "real" else pools.synthetic.pk)


def test_a_stack_the_pools_cannot_give_is_refused_and_nothing_is_stored(db, make_survey):
    from studies.models import Survey

    short_real = store_ct_dataset("Short real CT", kind="ct", contrast=True, seed=5, slices=10)
    short_model = store_ct_dataset("Short model", kind="sct", contrast=True, seed=6, slices=10)
    with pytest.raises(StudyError) as caught:
        make_survey(
            model_dataset=short_model, real_dataset=short_real, per_side=4, design=StudyDesign(stack_k=5)
        )
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("stack of 11 needs 5 neighbours each side: layer "), message
    assert "has no such slice in 'Short real CT'" in message
    assert not Survey.objects.filter(model_dataset=short_model).exists()
    assert not Item.objects.exists()


# --- pre-rendering ----------------------------------------------------------------------------------------


def test_every_stack_payload_is_the_same_size_and_holds_the_item_slice_in_the_middle(make_survey):
    survey = make_survey(design=StudyDesign(stack_k=2))
    policy = survey.display_policy
    assert survey.payload_bytes == 5 * 64 * 64 * 2
    for item in survey.items.select_related("slice__volume"):
        with default_storage.open(item.payload, "rb") as handle:
            data = handle.read()
        assert len(data) == survey.payload_bytes
        stack = decode_payload(data, 64, 5)
        # Independently: each neighbour is its own slice of the volume, rendered under the centre's geometry.
        volume_slices = {s.index: s for s in item.slice.volume.slices.all()}
        centre_hu, spacing = source_pixels(item.slice)
        geometry = display_geometry(centre_hu, policy=policy, **spacing)
        for position, offset in enumerate(range(-2, 3)):
            hu, _ = source_pixels(volume_slices[item.slice.index + offset])
            expected, _ = render_with_geometry(hu, policy=policy, geometry=geometry, **spacing)
            assert np.array_equal(stack[position], expected)


def test_the_neighbours_are_drawn_with_the_centre_slice_field_of_view_and_centring():
    rng = np.random.default_rng(3)
    centre = body_slice(rng, (48, 48))
    shifted = np.roll(centre, 8, axis=1)  # the body moves right in the neighbour
    policy = DisplayPolicy(matrix_size=48, field_of_view_mm=40.0)
    stack, geometry = render_stack(
        [shifted, centre, shifted], row_spacing_mm=1.0, column_spacing_mm=1.0, policy=policy
    )
    assert stack.shape == (3, 48, 48) and stack.dtype == np.int16
    alone = display_geometry(shifted, row_spacing_mm=1.0, column_spacing_mm=1.0, policy=policy)
    assert alone.centre_column != geometry.centre_column  # on its own the neighbour would be re-centred
    # With the centre's geometry the body stays shifted by the same 8 source pixels (1 mm = 48/40 displayed).
    column_of = [np.flatnonzero((image > 600).any(axis=0)).mean() for image in stack]
    assert column_of[0] == pytest.approx(column_of[1] + 8 * 48 / 40, abs=1.0)
    with pytest.raises(ValueError, match="odd number of slices, not 2"):
        render_stack([centre, centre], row_spacing_mm=1.0, column_spacing_mm=1.0, policy=policy)


def test_the_stack_cannot_be_changed_after_creation(make_survey):
    survey = make_survey(design=StudyDesign(stack_k=1))
    with pytest.raises(StudyError, match="the stack is chosen when the survey is created"):
        do_change_survey_settings(survey=survey, actor=None, design=survey.design.replace(stack_k=2))


# --- serving and answering ---------------------------------------------------------------------------------


@pytest.fixture
def stack_reading(make_survey, join, client):
    survey = make_survey(open_it=True, design=StudyDesign(stack_k=1))
    assignment = join(survey)
    client.force_login(assignment.reader)
    return survey, assignment, client


def test_the_stack_is_served_as_one_blob_with_the_headers_of_every_item(stack_reading):
    survey, assignment, client = stack_reading
    headers = set()
    for item in Item.objects.filter(survey=survey):
        response = client.get(reverse("studies:pixels", args=[assignment.key, item.public_id]))
        assert response.status_code == 200
        assert len(response.content) == 3 * 64 * 64 * 2
        headers.add(tuple(sorted((k, v) for k, v in response.headers.items() if k.lower() != "date")))
    assert len(headers) == 1


def test_the_reader_page_opens_the_stack_at_the_centre_slice(stack_reading):
    survey, assignment, client = stack_reading
    html = client.get(reverse("studies:item", args=[assignment.key, 1])).content.decode()
    config = json.loads(html.split('id="reader-config" type="application/json">')[1].split("</script>")[0])
    assert config["stack"] == {"slices": 3, "k": 1}
    assert 'data-testid="stack-scroll"' in html and 'value="2"' in html
    assert "Slice 2 of 3" in html


def stack_body(**overrides):
    return answer_body(slices_visited=[0, 1, -1], seconds_per_slice=[1.0, 2.5, 0.25], **overrides)


def test_slices_visited_and_seconds_per_slice_are_stored_and_exported(stack_reading):
    survey, assignment, client = stack_reading
    item = item_at(assignment, 1)
    response = client.post(
        reverse("studies:answer", args=[assignment.key, item.public_id]),
        json.dumps(stack_body()),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    answer = Answer.objects.get()
    assert answer.slices_visited == [0, 1, -1] and answer.seconds_per_slice == [1.0, 2.5, 0.25]
    assert answer.revisions.get().slices_visited == [0, 1, -1]
    rows = answer_rows([survey])
    csv_text = answers_csv(rows).decode()
    header, line = csv_text.splitlines()[:2]
    values = dict(zip(header.split(","), line.split(","), strict=True))
    assert values["stack_slices"] == "3"
    assert values["slices_visited"] == "0 1 -1"
    assert values["seconds_per_slice"] == "1.0 2.5 0.25"
    exported = json.loads(answers_json(rows))[0]
    assert exported["slices_visited"] == [0, 1, -1] and exported["seconds_per_slice"] == [1.0, 2.5, 0.25]
    dictionary = data_dictionary_csv().decode()
    for column in ("stack_slices", "slices_visited", "seconds_per_slice"):
        assert f"\r\nanswers.csv,{column}," in dictionary


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"slices_visited": None}, "slices_visited must be a list of offsets -1..1"),
        ({"slices_visited": []}, "slices_visited must be a list of offsets -1..1"),
        ({"slices_visited": [0, 2]}, "slices_visited must be a list of offsets -1..1"),
        ({"slices_visited": [0, "1"]}, "slices_visited must be a list of offsets -1..1"),
        ({"slices_visited": [0, True]}, "slices_visited must be a list of offsets -1..1"),
        ({"slices_visited": [0, 1, 1]}, "slices_visited must name each offset once"),
        ({"slices_visited": [1, 0]}, "slices_visited must start at the centre slice (offset 0)"),
        ({"seconds_per_slice": [1.0, 2.0]}, "seconds_per_slice must be a list of 3 numbers"),
        ({"seconds_per_slice": "1 2 3"}, "seconds_per_slice must be a list of 3 numbers"),
        ({"seconds_per_slice": [1.0, "x", 2.0]}, "seconds_per_slice must be a list of 3 numbers"),
        ({"seconds_per_slice": [1.0, float("nan"), 2.0]}, "seconds_per_slice must be a list of 3 numbers"),
        ({"seconds_per_slice": [1.0, -1, 2.0]}, "seconds_per_slice must be between 0 and"),
    ],
)
def test_garbage_stack_reading_gets_400_with_one_line_and_nothing_is_stored(
    stack_reading, overrides, message
):
    survey, assignment, client = stack_reading
    item = item_at(assignment, 1)
    body = {**stack_body(), **overrides}
    response = client.post(
        reverse("studies:answer", args=[assignment.key, item.public_id]),
        json.dumps(body).replace("NaN", "NaN"),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert not Answer.objects.exists()


def test_a_single_slice_survey_refuses_stack_fields(make_survey):
    design = StudyDesign()
    with pytest.raises(AnswerRejected, match="this survey shows one slice"):
        parse_answer_input(answer_body(slices_visited=[0], seconds_per_slice=[1.0]), design)
    parsed = parse_answer_input(answer_body(), design)
    assert parsed.slices_visited == () and parsed.seconds_per_slice == ()


def test_a_stack_answer_through_the_service_keeps_the_lists(stack_reading):
    survey, assignment, _ = stack_reading
    data = parse_answer_input(stack_body(), survey.design)
    result = do_submit_answer(assignment=assignment, item=item_at(assignment, 1), data=data)
    assert result.answer.slices_visited == [0, 1, -1]


# --- command line and admin -----------------------------------------------------------------------------


def test_create_survey_takes_a_stack(pools):
    out = StringIO()
    call_command(*create_args(pools, **{"--stack": "2"}), stdout=out)
    assert "5 slices each" in out.getvalue() and "stack of 5 slices" in out.getvalue()
    from studies.models import Survey

    assert Survey.objects.get().design.stack_k == 2


@pytest.mark.parametrize(
    "value, message",
    [
        ("x", "study design: stack_k must be a whole number, not 'x'"),
        ("6", "study design: stack_k must be 0 (one slice) or 1..5 (a stack of 2k+1 slices), not 6"),
        ("-1", "study design: stack_k must be 0 (one slice) or 1..5 (a stack of 2k+1 slices), not -1"),
        ("1.5", "study design: stack_k must be a whole number, not '1.5'"),
    ],
)
def test_create_survey_refuses_a_garbage_stack_in_one_line(pools, value, message):
    from studies.models import Survey

    with pytest.raises(CommandError) as caught:
        call_command(*create_args(pools, **{"--stack": value}), stdout=StringIO(), stderr=StringIO())
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not Survey.objects.exists()


def test_create_survey_refuses_a_stack_the_pools_cannot_give(db):
    from studies.models import Survey

    store_ct_dataset("Real CT contrast", kind="ct", contrast=True, seed=1, slices=4)
    store_ct_dataset("Model X output", kind="sct", contrast=True, seed=2, slices=4)
    args = [
        "create_survey", "--name", "S", "--model", "Model X output", "--real-dataset", "Real CT contrast",
        "--real", "2", "--synthetic", "2", "--seed", "1", "--matrix", "64", "--stack", "3",
    ]  # fmt: skip
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    assert "stack of 7 needs 3 neighbours each side" in str(caught.value)
    assert not Survey.objects.exists()


def test_the_admin_add_page_creates_a_stack_survey_and_refuses_a_garbage_stack(
    pools, django_user_model, client
):

    from studies.models import Survey
    from tests.studies.test_admin import add_form

    user = django_user_model.objects.create_user("stack-admin", password="pw-adm-123", is_staff=True)
    make_member(user, "admin")
    client.force_login(user)
    url = reverse("admin:studies_survey_add")
    for value in ("6", "x", "-1"):
        response = client.post(url, add_form(pools, name=f"Bad {value}", stack_k=value))
        assert response.status_code == 400
        assert "study design: stack_k must be " in html.unescape(response.content.decode())
    assert not Survey.objects.exists()
    response = client.post(url, add_form(pools, stack_k="2"))
    assert response.status_code == 302
    survey = Survey.objects.get()
    assert survey.design.stack_k == 2 and survey.payload_bytes == 5 * 64 * 64 * 2
    change = client.get(reverse("admin:studies_survey_change", args=[survey.pk])).content.decode()
    assert "Stack reading" in change and 'value="2" selected' in change
