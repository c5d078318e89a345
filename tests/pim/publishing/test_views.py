"""The public feed address: the latest file with cache validators, and nothing else."""

from __future__ import annotations

import pytest
from lxml import etree

from pim.catalog.services import update_product
from pim.publishing.export import run_export
from pim.publishing.services import install_preset, rotate_token
from tests.pim.publishing.conftest import prices

pytestmark = pytest.mark.usefixtures("demo_products")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def google_feed(actor):
    """The Google Merchant profile after one run: its token and the published feed's bytes."""
    profile = install_preset("google_merchant", actor=actor)
    result = run_export("google_merchant")
    return profile.token, (result.folder / "google_merchant.xml").read_bytes()


def test_feed_is_served_with_validators(client, google_feed):
    token, content = google_feed

    response = client.get(f"/feeds/{token}/google_merchant.xml")

    assert response.status_code == 200
    assert response.data == content
    assert response.mimetype == "application/xml"
    assert response.headers["ETag"]
    assert response.headers["Last-Modified"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_conditional_get_with_the_etag_is_not_modified(client, google_feed):
    token, _content = google_feed
    etag = client.get(f"/feeds/{token}/google_merchant.xml").headers["ETag"]

    response = client.get(f"/feeds/{token}/google_merchant.xml", headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.data == b""


def test_conditional_get_since_the_last_change_is_not_modified(client, google_feed):
    token, _content = google_feed
    modified = client.get(f"/feeds/{token}/google_merchant.xml").headers["Last-Modified"]

    response = client.get(f"/feeds/{token}/google_merchant.xml", headers={"If-Modified-Since": modified})

    assert response.status_code == 304


def test_new_feed_content_gets_a_new_etag(client, google_feed, actor):
    token, content = google_feed
    etag = client.get(f"/feeds/{token}/google_merchant.xml").headers["ETag"]
    sku = etree.fromstring(content).find("channel/item").findtext("{http://base.google.com/ns/1.0}id")
    update_product(sku, values={"price": prices("marketplace", RUB="12345.00")}, actor=actor)

    run_export("google_merchant")
    response = client.get(f"/feeds/{token}/google_merchant.xml", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert b"12345.00 RUB" in response.data


def test_wrong_token_is_not_found(client, google_feed):
    response = client.get("/feeds/not-a-token/google_merchant.xml")

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["report.csv", "google_merchant.csv", "..%2Fgoogle_merchant.xml", ".tmp-x"])
def test_file_not_in_the_feed_is_not_found(client, google_feed, name):
    token, _content = google_feed

    response = client.get(f"/feeds/{token}/{name}")

    assert response.status_code == 404


def test_feed_never_published_is_not_found(client, actor):
    profile = install_preset("meta", actor=actor)

    response = client.get(f"/feeds/{profile.token}/meta.csv")

    assert response.status_code == 404


def test_rotated_token_retires_the_old_address(client, google_feed):
    token, content = google_feed

    new_token = rotate_token("google_merchant").token

    assert client.get(f"/feeds/{token}/google_merchant.xml").status_code == 404
    response = client.get(f"/feeds/{new_token}/google_merchant.xml")
    assert response.status_code == 200
    assert response.data == content
