"""The blinding audit: a survey of phantom slices passes; each deliberately leaky variant fails, naming the
leak, and `manage.py audit_blinding` exits non-zero for it."""

import hashlib
from io import StringIO

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from imaging.phantoms import write_phantoms
from imaging.services import import_images
from studies.blinding import AUC_LIMIT, audit_survey_blinding, separation_auc
from studies.models import Item
from studies.rendering import decode_payload, encode_payload
from studies.services import create_survey

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
    from imaging.models import Dataset

    def make(**options):
        return create_survey(
            name=options.pop("name", "Phantom survey"),
            model_dataset=Dataset.objects.get(name="Phantom model output"),
            real_dataset=Dataset.objects.get(name="Phantom CT (contrast)"),
            real_count=10,
            synthetic_count=10,
            seed=3,
            **{"matrix_size": 128, **options},
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
            pixels = decode_payload(handle.read(), survey.matrix_size).copy()
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
