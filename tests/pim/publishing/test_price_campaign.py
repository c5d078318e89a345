"""A store after a price campaign, from the command line: 30 prices change, exactly those 30 labels come out and scan.

Every step is a real `pim` process on a temporary instance, as a store manager would type it.
Pages of the label sheets and of a Russian and an English catalogue are rendered to PNG into
the folder named by PIM_TEST_ARTIFACTS (the test's own temporary folder when it is not set),
for people to look at.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pymupdf
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from tests.conftest import drop_database, make_database
from tests.pim.publishing.test_cli import Instance, json_lines, ok, pim

PRODUCTS = 2500
CAMPAIGN = 30


@pytest.fixture(scope="module")
def store(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """An instance with the demo catalogue and the store presets installed."""
    folder = tmp_path_factory.mktemp(f"price-campaign-{backend}")
    created = Instance(folder, make_database(backend, folder))
    ok(pim(created, "demo", "--products", str(PRODUCTS), "--json", timeout=300))
    for preset in ("shelf_labels", "store_pos", "print_catalogue"):
        ok(pim(created, "channel", "install", preset))
    ok(pim(created, "channel", "install", "print_catalogue", "--code", "katalog_ru", "--channel", "pos"))
    yield created
    drop_database(backend, created.url)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ["PIM_TEST_ARTIFACTS"]) if os.environ.get("PIM_TEST_ARTIFACTS") else tmp_path_factory.mktemp("artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def published(result: dict) -> Path:
    outcome = result["result"]
    return Path(outcome["report"]).parent / outcome["files"][0]["name"]


def scanned(pdf: Path, artifacts: Path, name: str) -> list[str]:
    """Render every page at 300 dpi, keep the first as a PNG, and decode every EAN-13 as a scanner would."""
    codes = []
    with pymupdf.open(pdf) as document:
        for number, page in enumerate(document):
            pixmap = page.get_pixmap(dpi=300)
            image = Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)
            if number == 0:
                image.save(artifacts / f"{name}-page-1.png")
            codes.extend(code.text for code in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.EAN13, try_downscale=False))
    return codes


def test_a_campaign_of_thirty_prices_prints_exactly_those_thirty_labels(store, artifacts):
    first = json.loads(ok(pim(store, "labels", "shelf_labels", "--json")).stdout)
    labelled = json_lines(ok(pim(store, "product", "list", "--filter", '{"family": [{"operator": "IN", "value": ["grocery"]}]}', "--json")).stdout)
    campaign = []
    for item in labelled:
        product = json.loads(ok(pim(store, "product", "show", item["identifier"], "--json")).stdout)
        # products with an EAN of their own (goods weighed at the till have an in-store code instead)
        if product["values"].get("ean"):
            campaign.append(product)
        if len(campaign) == CAMPAIGN:
            break
    assert len(campaign) == CAMPAIGN
    changes = store.folder / "campaign.jsonl"
    with changes.open("w", encoding="utf-8") as out:
        for product in campaign:
            price = [{"locale": None, "scope": "pos", "data": [{"amount": "99.90", "currency": "RUB"}]}]
            out.write(json.dumps({"identifier": product["identifier"], "values": {"price": price}}) + "\n")
    ok(pim(store, "product", "load", str(changes)))

    again = json.loads(ok(pim(store, "labels", "shelf_labels", "--changed-since-last", "--json")).stdout)

    assert first["result"]["exported"] > CAMPAIGN
    assert again["result"]["exported"] == CAMPAIGN
    codes = scanned(published(again), artifacts, "labels-after-campaign")
    assert sorted(codes) == sorted(product["values"]["ean"][0]["data"] for product in campaign)
    text = "\n".join(page.extract_text() for page in PdfReader(published(again)).pages).replace("\u00a0", " ")
    assert text.count("99,90 ₽") >= CAMPAIGN


def test_the_till_file_carries_weighed_goods_with_in_store_codes(store):
    result = json.loads(ok(pim(store, "export", "store_pos", "--json")).stdout)

    lines = published(result).read_text(encoding="utf-8").splitlines()
    header, rows = lines[0].split(";"), [dict(zip(lines[0].split(";"), line.split(";"), strict=True)) for line in lines[1:]]
    weighed = [row for row in rows if row["weighed"] == "1"]
    assert header[:4] == ["article", "ean", "description", "price"]
    assert weighed and all(row["unit"] == "kg" and row["ean"].startswith("22") and len(row["ean"]) == 13 for row in weighed)
    assert all(len(row["description"]) <= 40 for row in rows)


def test_catalogues_in_russian_and_english_are_printed(store, artifacts):
    for profile, words in (("katalog_ru", ("Страница", "₽")), ("print_catalogue", ("Page", "€"))):
        result = json.loads(ok(pim(store, "export", profile, "--json")).stdout)
        path = published(result)
        reader = PdfReader(path)
        text = reader.pages[2].extract_text()
        assert all(word in text for word in words), (profile, text[:200])
        with pymupdf.open(path) as document:
            for number in (0, 1, 2):
                pixmap = document[number].get_pixmap(dpi=72)
                Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples).save(artifacts / f"{profile}-page-{number + 1}.png")
