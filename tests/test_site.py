"""What every page of the site shares: the icon browsers ask for."""

import pytest
from django.test import Client


def test_the_favicon_is_served_at_the_root_where_browsers_look_for_it(db):
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_pages_name_the_icon(db, url):
    page = Client().get(url).content.decode()
    assert 'rel="icon" href="/static/site/favicon.svg"' in page
