import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from imaging.models import Slice, Volume
from tests.imaging.dicom_factory import write_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def ct_volume(tmp_path):
    write_series(tmp_path / "ct", n=4, shape=(24, 24))
    call_command(
        "import_images",
        str(tmp_path / "ct"),
        "--dataset",
        "CT",
        "--kind",
        "ct",
        "--contrast",
        stdout=io.StringIO(),
    )
    return Volume.objects.get()


def test_the_volume_page_shows_slice_previews_that_are_pngs(client, admin_user, ct_volume):
    client.force_login(admin_user)
    page = client.get(reverse("admin:imaging_volume_change", args=[ct_volume.pk]))
    assert page.status_code == 200
    first = Slice.objects.filter(volume=ct_volume).order_by("index").first()
    png_url = reverse("admin:imaging_slice_png", args=[first.pk])
    assert png_url in page.content.decode()
    image = client.get(png_url)
    assert image["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (24, 24)


def test_slice_previews_are_for_staff_only(client, django_user_model, ct_volume):
    client.force_login(django_user_model.objects.create_user("someone", password="pw-someone-1"))
    response = client.get(reverse("admin:imaging_slice_png", args=[ct_volume.slices.first().pk]))
    assert response.status_code == 302 and "/login/" in response.url


def test_a_missing_slice_preview_is_404(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("admin:imaging_slice_png", args=[999999])).status_code == 404


def test_the_dataset_list_counts_volumes(client, admin_user, ct_volume):
    client.force_login(admin_user)
    page = client.get(reverse("admin:imaging_dataset_changelist"))
    assert page.status_code == 200
    assert "CT" in page.content.decode()
    assert page.context["cl"].result_list[0].volume_count == 1
