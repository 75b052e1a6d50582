"""The blinding audit: a survey of phantom slices passes; each deliberately leaky variant fails, naming the
leak, and `manage.py audit_blinding` exits non-zero for it."""

import hashlib
from io import StringIO

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from scipy import ndimage

from imaging.models import Volume
from imaging.phantoms import write_phantoms
from imaging.pixels import load_slice_pixels
from imaging.selectors import fields_of_view_mm
from imaging.services import import_images, store_volume
from imaging.volumes import VolumeData
from studies.blinding import AUC_LIMIT, audit_survey_blinding, separation_auc
from studies.design import StudyDesign
from studies.models import Item
from studies.policy import DisplayPolicy, round_field_of_view
from studies.rendering import decode_payload, encode_payload
from studies.selectors import rendered_pixels
from studies.services import create_survey
from studies.survey_input import SurveyInput
from tests.studies.conftest import POLICY_NAMES

PHANTOM = {"patients": 2, "ct_matrix": 128, "mr_matrix": 32, "ct_slices": 20, "mr_slices": 4}


@pytest.fixture(scope="module")
def phantom_dirs(tmp_path_factory):
    """Two phantom cohorts: one imported as real CT, the other as a model's synthetic CT."""
    real = tmp_path_factory.mktemp("phantom-real")
    synthetic = tmp_path_factory.mktemp("phantom-synthetic")
    write_phantoms(real, seed=11, **PHANTOM)
    write_phantoms(synthetic, seed=12, **PHANTOM)
    return real, synthetic


@pytest.fixture
def phantom_survey(db, phantom_dirs):
    real_dir, synthetic_dir = phantom_dirs
    import_images(path=real_dir / "CT", dataset_name="Phantom CT (contrast)", kind="ct", contrast=True)
    import_images(path=synthetic_dir / "CT", dataset_name="Phantom model output", kind="sct", contrast=True)

    def make(**options):
        options = {"matrix_size": 128, **options}
        policy = DisplayPolicy(**{name: options.pop(name) for name in list(options) if name in POLICY_NAMES})
        return create_survey(
            options=SurveyInput(
                name=options.pop("name", "Phantom survey"),
                model="Phantom model output",
                real_dataset="Phantom CT (contrast)",
                real=10,
                synthetic=10,
                seed=3,
                display_policy=policy,
                **options,
            )
        ).survey

    return make


def audit_command(survey) -> tuple[str, str | None]:
    out = StringIO()
    try:
        call_command("audit_blinding", survey.name, stdout=out)
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def rewrite_payloads(survey, truth, change):
    """Replace the stored payload of every item of one truth with change(pixels) (checksum kept consistent)."""
    for item in Item.objects.filter(survey=survey, truth=truth):
        with default_storage.open(item.payload, "rb") as handle:
            pixels = decode_payload(handle.read(), survey.display_policy.matrix_size).copy()
        data = change(pixels)
        payload = data if isinstance(data, bytes) else encode_payload(data)
        default_storage.delete(item.payload)
        default_storage.save(item.payload, ContentFile(payload))
        Item.objects.filter(pk=item.pk).update(payload_sha256=hashlib.sha256(payload).hexdigest())


@pytest.mark.smoke
def test_a_survey_of_ten_real_and_ten_synthetic_phantom_slices_passes(phantom_survey):
    survey = phantom_survey()
    output, error = audit_command(survey)
    assert error is None, output
    assert output.strip().endswith("PASSED")
    for check in (
        "headers",
        "payload-size",
        "html",
        "background",
        "clip-range",
        "identifiers",
        "no-feedback",
        "error-pages",
    ):
        assert f"PASS {check}" in output
    survey.refresh_from_db()
    assert survey.last_audit_passed is True
    assert survey.status == "draft"  # the audit changes nothing, it only reads


def test_the_audit_leaves_no_trace_of_its_throwaway_reader(phantom_survey, django_user_model):
    from studies.models import Answer, Assignment

    survey = phantom_survey()
    audit_survey_blinding(survey)
    assert not Assignment.objects.exists() and not Answer.objects.exists()
    assert not django_user_model.objects.filter(username__startswith="blinding-audit").exists()


def test_synthetic_items_at_a_different_matrix_size_fail(phantom_survey):
    survey = phantom_survey()
    rewrite_payloads(survey, "synthetic", lambda pixels: encode_payload(pixels[:96, :96]))
    output, error = audit_command(survey)
    assert error is not None
    assert (
        "LEAK [pre-rendered] 10 item payload(s) are not pre-rendered at 32768 bytes: '18432 bytes' on 10 synthetic"
        in output
    )
    assert "LEAK [payload-size]" in output


@pytest.mark.smoke
def test_a_header_only_synthetic_items_carry_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.leaky.etag_on_synthetic_pixels"]
    survey = phantom_survey()
    output, error = audit_command(survey)
    assert error is not None and "headers" in error
    assert "header 'etag' differs" in output
    assert "pixel responses carry 'etag'" in output


def test_an_error_page_that_shows_the_failures_message_fails(phantom_survey, settings):
    settings.ROOT_URLCONF = "tests.studies.leaky_urls"
    survey = phantom_survey()
    output, error = audit_command(survey)
    assert error is not None and "error-pages" in error
    for label in ("item page", "pixel request", "answer"):
        assert f"the reply to {label} with a failure differs between items" in output
        assert f"the reply to {label} with the database unreachable differs between items" in output
    assert "on 10 real item(s)" in output and "on 10 synthetic item(s)" in output


def test_a_different_content_type_for_synthetic_items_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.leaky.png_type_on_synthetic_pixels"]
    survey = phantom_survey()
    output, error = audit_command(survey)
    assert error is not None
    assert "header 'content-type' differs" in output


def test_different_html_for_synthetic_items_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.leaky.comment_on_synthetic_pages"]
    survey = phantom_survey()
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [html] item pages differ" in output


def test_values_outside_the_clip_range_fail(phantom_survey):
    survey = phantom_survey(hu_min=-1000, hu_max=2000)

    def overshoot(pixels):
        pixels[60, 60] = 2500
        return pixels

    rewrite_payloads(survey, "synthetic", overshoot)
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [clip-range] values outside the HU clip range -1000..2000" in output


def test_a_different_background_outside_the_mask_fails(phantom_survey):
    survey = phantom_survey(mask="none")

    def lift_background(pixels):
        pixels[pixels == pixels[0, 0]] = -1000
        return pixels

    rewrite_payloads(survey, "synthetic", lift_background)
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [background] the background value differs (AUC 1.00)" in output


def test_unmasked_air_under_a_body_mask_fails(phantom_survey):
    survey = phantom_survey(mask="body")

    def noisy_air(pixels):
        pixels[0, :] = -990
        return pixels

    rewrite_payloads(survey, "synthetic", noisy_air)
    output, error = audit_command(survey)
    assert error is not None
    assert "pixels outside the body mask are not all the background value -1024" in output


def test_coarser_grey_levels_in_synthetic_items_fail(phantom_survey):
    survey = phantom_survey(mask="none")
    rewrite_payloads(survey, "synthetic", lambda pixels: (pixels // 16) * 16)
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [quantisation]" in output


def test_a_reader_title_naming_the_model_fails(phantom_survey):
    survey = phantom_survey(reader_title="Phantom model output check")
    output, error = audit_command(survey)
    assert error is not None
    assert "contains a dataset name ('phantom model output')" in output


def test_reader_text_naming_the_checkpoint_or_counting_a_side_fails_in_either_language(phantom_survey):
    from imaging.models import Dataset

    Dataset.objects.filter(name="Phantom model output").update(
        source="Generated by checkpoint inphase-cyclegan-v2 (sha256 ab12) from MRI dataset Phantom MRI"
    )
    survey = phantom_survey(reader_title_it="Studio TC", instructions_it="Immagini di inphase-cyclegan-v2.")
    output, error = audit_command(survey)
    assert error is not None
    assert (
        "LEAK [reader-text] the Italian instructions contains a name from the model's provenance (checkpoint or "
        "MRI dataset) ('inphase-cyclegan-v2')"
    ) in output
    counted = phantom_survey(name="Counted", instructions_it="Metà delle immagini sono sintetiche.")
    output, error = audit_command(counted)
    assert error is not None
    assert "LEAK [reader-text] the Italian instructions says how many items are of one kind" in output
    counted = phantom_survey(
        name="Counted in English", instructions="There are 10 real and 10 synthetic slices."
    )
    assert (
        "LEAK [reader-text] the instructions says how many items are of one kind ('10 real')"
        in (audit_command(counted)[0])
    )


def test_reader_text_that_describes_the_task_and_the_scale_passes_in_both_languages(phantom_survey):
    survey = phantom_survey(
        reader_title="Abdominal CT",
        reader_title_it="TC addominale",
        instructions="For each of the 20 slices say whether it is real or synthetic; 5 = certainly synthetic.",
        instructions_it="Per ognuna delle 20 immagini indica se è reale o sintetica; 1 = certamente reale.",
        design=StudyDesign(rating="five_point"),
    )
    output, error = audit_command(survey)
    assert error is None, output
    assert "PASS reader-text" in output and "PASS page-assets" in output


def test_a_script_from_outside_the_site_on_the_slice_pages_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.leaky.script_from_a_cdn_on_item_pages"]
    output, error = audit_command(phantom_survey())
    assert error is not None
    assert (
        "LEAK [page-assets] slice pages load 'https://cdn.example.org/viewer.js', not a local static file"
        in output
    )


def test_items_whose_layers_differ_between_sides_fail(phantom_survey):
    survey = phantom_survey()
    item = Item.objects.filter(survey=survey, truth="synthetic").order_by("axial_layer").first()
    Item.objects.filter(pk=item.pk).update(axial_layer=10 if item.axial_layer != 10 else 1)
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [layers]" in output


def test_an_unknown_survey_is_one_line(db):
    with pytest.raises(CommandError, match="no survey named 'nope'"):
        call_command("audit_blinding", "nope")


def test_separation_auc_is_half_for_identical_groups_and_one_when_a_threshold_splits_them():
    assert separation_auc([5] * 10, [5] * 10) == 0.5
    assert separation_auc([1, 2, 3], [4, 5, 6]) == 1.0
    assert separation_auc([4, 5, 6], [1, 2, 3]) == 1.0
    rng = np.random.default_rng(0)
    assert separation_auc(rng.normal(size=500), rng.normal(size=500)) < AUC_LIMIT


# --- Scale and geometry ---------------------------------------------------------------------------------------


def _as_mri_geometry(hu: np.ndarray, spacing: float, rng) -> tuple[np.ndarray, float]:
    """What synthetic CT made from MRI looks like geometrically: a 20% wider field of view on a coarser grid
    (96 px for the CT's 128), noisy air around the body and no reconstruction circle."""
    air = rng.normal(-1000, 12, size=hu.shape)
    hu = np.where(hu <= -1024, air, hu)
    pad = round(hu.shape[0] * 0.1)
    wide = np.pad(hu, pad, mode="constant", constant_values=-1000) + np.pad(
        np.zeros_like(hu), pad, mode="constant"
    )
    wide[:pad] += rng.normal(0, 12, size=wide[:pad].shape)
    wide[-pad:] += rng.normal(0, 12, size=wide[-pad:].shape)
    factor = 96 / wide.shape[0]
    return ndimage.zoom(wide, factor, order=1), spacing / factor


@pytest.fixture
def mri_geometry_survey(db, phantom_dirs):
    """Real phantom CT against 'synthetic' CT stored with an MRI's geometry, as a model's output is: the same
    anatomy at a different field of view and pixel spacing."""
    real_dir, synthetic_dir = phantom_dirs
    import_images(path=real_dir / "CT", dataset_name="Phantom CT (contrast)", kind="ct", contrast=True)
    import_images(
        path=synthetic_dir / "CT", dataset_name="Phantom CT (second cohort)", kind="ct", contrast=True
    )
    rng = np.random.default_rng(5)
    for volume in Volume.objects.filter(dataset__name="Phantom CT (second cohort)"):
        planes, spacing = [], volume.row_spacing_mm
        for slice_ in volume.slices.order_by("index"):
            plane, spacing = _as_mri_geometry(
                load_slice_pixels(slice_.pixels).astype(float), volume.row_spacing_mm, rng
            )
            planes.append(np.rint(plane).astype(np.int16))
        z = np.array(list(volume.slices.order_by("index").values_list("z_mm", flat=True)))
        store_volume(
            dataset_name="Model with MRI geometry",
            kind="sct",
            contrast=True,
            data=VolumeData(
                patient=volume.patient,
                modality="ct",
                series_key=f"synthetic:{volume.series_key}",
                source_format="generated",
                source_path="",
                pixels=np.stack(planes),
                z_mm=z,
                row_spacing_mm=spacing,
                column_spacing_mm=spacing,
                orientation=tuple(volume.orientation),
            ),
        )

    def make(**options):
        policy = DisplayPolicy(**{"matrix_size": 128, **options})
        return create_survey(
            options=SurveyInput(
                name=f"MRI geometry survey {policy.field_of_view} {policy.mask}",
                model="Model with MRI geometry",
                real_dataset="Phantom CT (contrast)",
                real=10,
                synthetic=10,
                seed=3,
                display_policy=policy,
            )
        ).survey

    return make


def test_the_default_policy_shows_real_and_mri_geometry_items_at_one_scale_and_passes(mri_geometry_survey):
    survey = mri_geometry_survey()
    fields = fields_of_view_mm(survey.real_dataset)
    assert survey.display_policy.field_of_view_mm == round_field_of_view(float(np.median(fields)))
    output, error = audit_command(survey)
    assert error is None, output
    mm = survey.display_policy.field_of_view_mm / 128
    assert f"MEASURED [scale] {mm:.4f} mm per displayed pixel in every item" in output
    assert "MEASURED [body-extent] body extent in the payload" in output
    for check in ("same-pipeline", "scale", "body-extent", "centring", "padding"):
        assert f"PASS {check}" in output


def test_each_slice_keeping_its_own_field_of_view_fails_on_scale(mri_geometry_survey):
    survey = mri_geometry_survey(field_of_view="per_slice")
    output, error = audit_command(survey)
    assert error is not None
    assert (
        "LEAK [scale] each slice keeps its own field of view and real and synthetic items are shown at"
        in output
    )
    assert "LEAK [body-extent] bodies are drawn at different sizes (AUC 1.00)" in output


def test_synthetic_items_that_keep_the_mri_field_of_view_despite_the_policy_fail(mri_geometry_survey):
    """A pipeline that forgot the survey's field of view for synthetic items: caught by rendering again."""
    survey = mri_geometry_survey()
    own = survey.display_policy.replace(field_of_view="per_slice", field_of_view_mm=None)
    for item in Item.objects.filter(survey=survey, truth="synthetic").select_related("slice__volume"):
        pixels, _ = rendered_pixels(item.slice, own)
        default_storage.delete(item.payload)
        default_storage.save(item.payload, ContentFile(encode_payload(pixels)))
        Item.objects.filter(pk=item.pk).update(
            payload_sha256=hashlib.sha256(encode_payload(pixels)).hexdigest()
        )
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [same-pipeline] 10 payload(s) are not what the survey's display policy makes" in output
    assert (
        "10 synthetic item(s)" in output
        and "real item(s)" not in output.split("same-pipeline] ")[1].split("\n")[0]
    )


def test_synthetic_items_drawn_off_centre_fail(mri_geometry_survey):
    survey = mri_geometry_survey()
    rewrite_payloads(survey, "synthetic", lambda pixels: np.roll(pixels, (12, -9), axis=(0, 1)))
    output, error = audit_command(survey)
    assert error is not None
    assert (
        "LEAK [centring] the body sits at a different place in real and synthetic items (AUC 1.00)" in output
    )


def test_a_reconstruction_circle_only_real_items_have_fails_without_a_mask(mri_geometry_survey):
    survey = mri_geometry_survey(mask="none")
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [padding] the area around the body differs (AUC 1.00)" in output


# --- Study designs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rating", ["five_point", "slider"])
def test_a_rated_survey_passes_with_its_rating_widget_checked(phantom_survey, rating):
    survey = phantom_survey(design=StudyDesign(rating=rating, choice_from_rating=rating == "slider"))
    output, error = audit_command(survey)
    assert error is None, output
    assert "PASS rating-widget" in output


def test_a_rating_widget_whose_default_depends_on_the_truth_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.leaky.rating_default_on_synthetic_pages"]
    survey = phantom_survey(design=StudyDesign(rating="five_point"))
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [rating-widget] the rating widget differs between items" in output
    assert (
        "LEAK [rating-widget] the rating starts with a value: 'preselected' on 10 synthetic item(s)" in output
    )


def test_a_survey_with_its_own_window_presets_passes_and_its_presets_are_checked(phantom_survey):
    presets = [{"name": "abdomen", "width": 350, "level": 40}, {"name": "bone", "width": 2000, "level": 500}]
    survey = phantom_survey(design=StudyDesign(window_presets=presets))
    output, error = audit_command(survey)
    assert error is None, output
    assert "PASS config" in output


def test_a_survey_with_practice_items_passes_and_its_practice_is_checked(phantom_survey):
    survey = phantom_survey(design=StudyDesign(practice_items=3, rating="five_point"))
    output, error = audit_command(survey)
    assert error is None, output
    assert "PASS practice" in output and "PASS practice-separation" in output
    assert "PASS practice-feedback" in output


def test_practice_feedback_leaking_into_test_items_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "tests.studies.leaky.practice_feedback_on_synthetic_test_answers",
    ]
    survey = phantom_survey(design=StudyDesign(practice_items=2))
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [practice-separation] the answer response of a synthetic test item" in output
    assert "LEAK [no-feedback]" in output


def test_practice_answers_that_say_more_for_synthetic_items_fail(phantom_survey, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.leaky.score_on_synthetic_practice_answers"]
    survey = phantom_survey(design=StudyDesign(practice_items=4))
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [practice-feedback] practice answer responses differ beyond the feedback" in output


def test_a_practice_slice_that_is_also_a_test_item_fails(phantom_survey):
    from studies.models import PracticeItem

    survey = phantom_survey(design=StudyDesign(practice_items=2))
    practice = PracticeItem.objects.filter(survey=survey).first()
    test_item = Item.objects.filter(survey=survey, truth=practice.truth).first()
    PracticeItem.objects.filter(pk=practice.pk).update(slice_id=test_item.slice_id)
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [practice] 1 practice slice(s) are also test items" in output


def test_a_survey_with_a_repeat_round_passes_and_its_second_reading_is_checked(phantom_survey):
    survey = phantom_survey(design=StudyDesign(repeat="subset", repeat_items=6, washout_days=7))
    output, error = audit_command(survey)
    assert error is None, output
    assert "PASS repeat-round" in output


def test_a_second_reading_that_differs_for_synthetic_items_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.leaky.comment_on_synthetic_pages"]
    survey = phantom_survey(design=StudyDesign(repeat="all"))
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [repeat-round] second-reading pages differ beyond the item id and position" in output


def test_a_stack_survey_passes_with_every_slice_of_every_stack_checked(phantom_survey):
    survey = phantom_survey(design=StudyDesign(stack_k=2, practice_items=2))
    output, error = audit_command(survey)
    assert error is None, output
    for check in (
        "payload-size",
        "dtype",
        "same-pipeline",
        "stack-scale",
        "clip-range",
        "background",
        "practice",
    ):
        assert f"PASS {check}" in output
    assert survey.payload_bytes == 5 * 128 * 128 * 2


def test_a_stack_payload_one_slice_shorter_for_synthetic_items_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "tests.studies.leaky.stack_one_slice_short_for_synthetic_items",
    ]
    survey = phantom_survey(design=StudyDesign(stack_k=2))
    output, error = audit_command(survey)
    assert error is not None
    assert (
        "LEAK [payload-size] payloads must be exactly 163840 bytes (5 x 128x128 int16, a stack): "
        "131072 on 10 synthetic item(s)" in output
    )
    assert "LEAK [payload-size] payload sizes separate real from synthetic (AUC 1.00)" in output
    assert "header 'content-length' differs: '131072' on 10 synthetic item(s)" in output
    assert "LEAK [dtype] 10 payload(s) do not decode as 5 x 128x128 int16, a stack" in output


def test_a_synthetic_stack_whose_neighbours_are_at_another_scale_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.leaky.synthetic_neighbours_at_another_scale"]
    survey = phantom_survey(design=StudyDesign(stack_k=1))
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [same-pipeline] 10 payload(s) are not what the survey's display policy makes" in output
    assert (
        "LEAK [stack-scale] the neighbouring slices of real and synthetic stacks are drawn at different"
        in output
    )


EXPOSURE_STAIRCASE = StudyDesign(
    exposure="staircase",
    exposure_ms=400,
    exposure_step_ms=100,
    exposure_min_ms=100,
    exposure_max_ms=900,
    exposure_up=1,
    exposure_down=3,
    exposure_reversals=4,
    practice_items=2,
)


@pytest.mark.parametrize(
    "design", [EXPOSURE_STAIRCASE, StudyDesign(exposure="fixed", exposure_ms=250, repeat="all")]
)
def test_an_exposure_survey_passes_with_its_exposure_and_mask_checked(phantom_survey, design):
    survey = phantom_survey(design=design)
    output, error = audit_command(survey)
    assert error is None, output
    assert "PASS exposure-config" in output and "PASS exposure-requested" in output


def test_a_mask_that_differs_on_synthetic_items_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.leaky.mask_differs_on_synthetic_pages"]
    survey = phantom_survey(design=EXPOSURE_STAIRCASE)
    output, error = audit_command(survey)
    assert error is not None
    assert "LEAK [exposure-config] the mask differs between items: 12345 on 10 synthetic item(s)" in output


def test_an_exposure_longer_on_synthetic_items_fails(phantom_survey, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.studies.leaky.longer_exposure_on_synthetic_pages"]
    survey = phantom_survey(design=StudyDesign(exposure="fixed", exposure_ms=250))
    output, error = audit_command(survey)
    assert error is not None
    assert (
        "LEAK [exposure-requested] 10 page(s) request an exposure other than the survey's rule gives: "
        "300 on 10 synthetic item(s)" in output
    )
