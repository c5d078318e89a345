"""Export runs on the demo catalogue: every preset, skipped products, atomic publishing, deltas, explain."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree
from sqlalchemy import select

import exporters.yandex_market
from exporters.google_merchant import GoogleMerchantFeed
from pim import db
from pim.catalog.serialize import completeness_of
from pim.catalog.services import delete_product, get_product, get_product_model, update_product
from pim.errors import Invalid, NotFound
from pim.publishing.export import explain, get_profile, profile_folder, published_file, run_export
from pim.publishing.models import ExportRun
from pim.publishing.services import apply_definition, install_preset, list_presets, show_definition
from pim.structure.snapshot import ALL_CHANNELS, ALL_LOCALES
from tests.pim.publishing.conftest import DEMO_PRODUCTS, one, prices

pytestmark = pytest.mark.usefixtures("demo_products")

G = "{http://base.google.com/ns/1.0}"

MAIN_FILES = {
    "webshop": ["webshop.jsonl", "webshop.csv", "webshop.jsonld.jsonl"],
    "google_merchant": ["google_merchant.xml"],
    "meta": ["meta.csv"],
    "ozon": ["ozon-0001.json", "ozon-0002.json"],
    "wildberries": ["wildberries-0001.json"],
    "yandex_market": ["yandex_market.xml"],
}


def read_report(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def webshop_skus(lines: list[dict[str, Any]]) -> list[str]:
    """Return the SKUs a web shop JSON Lines file publishes (single products and variants of models)."""
    skus = []
    for line in lines:
        if line["type"] == "product":
            skus.append(line["sku"])
        elif line["type"] == "product_model":
            skus.extend(variant["sku"] for variant in line["variants"])
    return skus


def skus_in_feed(preset: str, folder: Path, names: list[str]) -> list[str]:
    """Return the SKUs (or, for Wildberries, the barcodes) a feed publishes, read back from its files."""
    if preset == "webshop":
        return webshop_skus(json_lines(folder / names[0]))
    if preset == "google_merchant":
        return [item.findtext(f"{G}id") for item in etree.parse(folder / names[0]).iter("item")]
    if preset == "meta":
        with open(folder / names[0], newline="", encoding="utf-8") as handle:
            return [row["id"] for row in csv.DictReader(handle)]
    if preset == "ozon":
        return [item["offer_id"] for name in names for item in json.loads((folder / name).read_bytes())["items"]]
    if preset == "wildberries":
        groups = [group for name in names for group in json.loads((folder / name).read_bytes())]
        return [sku for group in groups for card in group["variants"] for size in card["sizes"] for sku in size["skus"]]
    return [offer.findtext("vendorCode") for offer in etree.parse(folder / names[0]).iter("offer")]


def run_files(result: Any) -> list[str]:
    return [entry["name"] for entry in result.files]


def feed_skus(result: Any, preset: str) -> list[str]:
    return skus_in_feed(preset, result.folder, run_files(result))


def first_sku_in(code: str) -> str:
    result = run_export(code)
    return feed_skus(result, get_profile(code).format)[0]


# --- every preset ---------------------------------------------------------------------------


@pytest.mark.parametrize("preset", sorted(MAIN_FILES))
def test_run_export_publishes_every_online_preset(feeds, actor, preset):
    install_preset(preset, actor=actor)

    result = run_export(preset)

    published = feed_skus(result, preset)
    assert result.exported > 0
    assert result.exported + result.skipped == DEMO_PRODUCTS
    assert run_files(result) == MAIN_FILES[preset]
    assert len(published) == result.exported
    assert len(set(published)) == len(published)
    assert sorted(p.name for p in result.folder.iterdir()) == sorted([*MAIN_FILES[preset], "report.csv"])
    assert len(read_report(result.report_path)) == result.skipped
    assert result.folder.parent == feeds / preset


def test_web_shop_models_carry_their_own_fields_and_variant_axes(actor):
    install_preset("webshop", actor=actor)

    result = run_export("webshop")

    lines = json_lines(result.folder / "webshop.jsonl")
    models = [line for line in lines if line["type"] == "product_model"]
    assert models
    for model in models:
        stored = get_product_model(model["code"])
        assert model["name"] == stored.values["name"]["<all_channels>"]["en_US"]
        # what names a sellable item (its SKU, a page address made of it, its dates) is not the model's
        assert "sku" not in model and "updated" not in model and "url" not in model
        assert " > " in model["category"]
        assert model["axes"] and all(axis in variant for variant in model["variants"] for axis in model["axes"])
    two_levels = next(model for model in models if len(model["axes"]) == 2)
    assert two_levels["axes"] == ["color", "size"]
    assert len({(v["color"], v["size"]) for v in two_levels["variants"]}) == len(two_levels["variants"])
    groups = [line for line in json_lines(result.folder / "webshop.jsonld.jsonl") if line["@type"] == "ProductGroup"]
    assert len(groups) == len(models)
    shown = next(group for group in groups if group["productGroupID"] == two_levels["code"])
    assert shown["name"] == two_levels["name"]
    assert shown["variesBy"] == ["https://schema.org/color", "https://schema.org/size"]


def test_small_batches_never_cut_a_model_from_its_variants(actor, monkeypatch):
    install_preset("webshop", actor=actor)
    whole = json_lines(run_export("webshop").folder / "webshop.jsonl")

    # the catalogue walked model by model (as a big one is), a batch of variants closed at 10
    # products, but only between two models
    monkeypatch.setattr("pim.publishing.export.NARROW", 1)
    monkeypatch.setattr("pim.publishing.export.BATCH", 2)
    monkeypatch.setattr("pim.publishing.export.GROUPED_ROOTS", 20)
    lines = json_lines(run_export("webshop").folder / "webshop.jsonl")

    codes = [line["code"] for line in lines if line["type"] == "product_model"]
    assert len(codes) == len(set(codes)) > 3
    assert lines == whole


def test_web_shop_may_publish_its_json_lines_alone(actor):
    install_preset("webshop", actor=actor)
    whole = run_export("webshop")
    definition = yaml.safe_load(show_definition("webshop"))
    apply_definition({**definition, "options": {"csv": False, "jsonld": False}}, actor=actor)

    alone = run_export("webshop")

    assert run_files(alone) == ["webshop.jsonl"]
    assert sorted(p.name for p in alone.folder.iterdir()) == ["report.csv", "webshop.jsonl"]
    assert (alone.folder / "webshop.jsonl").read_bytes() == (whole.folder / "webshop.jsonl").read_bytes()
    assert alone.exported == whole.exported


def test_every_preset_is_published_by_a_test():
    # the print and store presets are published in test_stores_and_print.py
    assert set(list_presets()) == {*MAIN_FILES, "print_catalogue", "print_datamerge", "store_pos", "shelf_labels"}


def test_yandex_feed_matches_the_yml_schema(actor):
    install_preset("yandex_market", actor=actor)

    result = run_export("yandex_market")

    assert exporters.yandex_market.validate_yml(result.folder / "yandex_market.xml") == []


def test_ozon_bodies_hold_at_most_a_hundred_items(actor):
    install_preset("ozon", actor=actor)

    result = run_export("ozon")

    sizes = [len(json.loads((result.folder / name).read_bytes())["items"]) for name in run_files(result)]
    assert sizes == [100, result.exported - 100]


# --- skipped products -------------------------------------------------------------------------


def test_incomplete_products_are_reported_with_their_missing_attributes(actor):
    install_preset("yandex_market", actor=actor)

    result = run_export("yandex_market")

    incomplete = [row for row in read_report(result.report_path) if row["reason"] == "incomplete"]
    assert incomplete
    assert result.reasons["incomplete"] == len(incomplete)
    published = set(feed_skus(result, "yandex_market"))
    for row in incomplete:
        assert row["sku"] not in published
        completeness = {(c["scope"], c["locale"]): c for c in completeness_of(get_product(row["sku"]))}
        assert row["field"].split(",") == completeness[("marketplace", "ru_RU")]["missing"]
        assert row["field"].split(",")[0] in row["message"]


def test_product_breaking_a_channel_rule_is_skipped_with_the_rule(actor):
    install_preset("google_merchant", actor=actor)
    sku = first_sku_in("google_merchant")
    ean = get_product(sku).values["ean"][ALL_CHANNELS][ALL_LOCALES]
    wrong_check_digit = ean[:-1] + str((int(ean[-1]) + 1) % 10)
    update_product(sku, values={"ean": one(wrong_check_digit)}, actor=actor)

    result = run_export("google_merchant")

    rows = [row for row in read_report(result.report_path) if row["sku"] == sku]
    assert [(row["reason"], row["field"]) for row in rows] == [("invalid_gtin", "gtin")]
    assert "check digit" in rows[0]["message"]
    assert sku not in feed_skus(result, "google_merchant")
    assert result.reasons["invalid_gtin"] == 1


def test_product_updated_without_categories_keeps_its_category_in_the_feed(actor):
    install_preset("webshop", actor=actor)
    sku = first_sku_in("webshop")
    before = explain("webshop", sku)["record"]["fields"]["category"]

    update_product(sku, values={"keywords": one("trail, running", locale="en_US")}, actor=actor)

    assert explain("webshop", sku)["record"]["fields"].get("category") == before


# --- atomic publishing ------------------------------------------------------------------------


def crash_midway(self: Any, items: Any, settings: Any, sink: Any) -> None:
    out = sink.open(self.file_name(settings))
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<rss><channel><item>')
    next(iter(items))
    raise OSError("No space left on device")


def test_failed_export_leaves_the_previous_feed_published(actor, monkeypatch):
    profile = install_preset("google_merchant", actor=actor)
    first = run_export("google_merchant")
    before = (first.folder / "google_merchant.xml").read_bytes()
    monkeypatch.setattr(GoogleMerchantFeed, "write", crash_midway)

    with pytest.raises(OSError, match="No space left"):
        run_export("google_merchant")

    path, _entry = published_file(profile.token, "google_merchant.xml")
    assert path.read_bytes() == before
    assert not [p.name for p in profile_folder("google_merchant").iterdir() if p.name.startswith(".")]
    runs = db.session.scalars(select(ExportRun).where(ExportRun.profile_id == profile.id).order_by(ExportRun.id)).all()
    assert [run.status for run in runs] == ["succeeded", "failed"]
    assert "No space left" in runs[-1].error


def test_next_run_removes_what_an_interrupted_run_left(actor):
    install_preset("google_merchant", actor=actor)
    run_export("google_merchant")
    folder = profile_folder("google_merchant")
    left = folder / ".tmp-20240101T000000-999"
    left.mkdir()
    (left / "google_merchant.xml").write_bytes(b"<rss><channel><item>")
    (folder / ".tmp-20240101T000000-999.digests").write_bytes(b"[1,")

    result = run_export("google_merchant")

    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    assert result.exported > 0


def test_keep_prunes_older_runs(actor):
    install_preset("meta", actor=actor)
    definition = yaml.safe_load(show_definition("meta"))
    apply_definition({**definition, "keep": 2}, actor=actor)

    results = [run_export("meta") for _ in range(3)]

    folder = profile_folder("meta")
    assert sorted(p.name for p in folder.iterdir()) == sorted(r.folder.name for r in results[1:])
    statuses = db.session.scalars(select(ExportRun.status).where(ExportRun.profile_id == get_profile("meta").id).order_by(ExportRun.id)).all()
    assert statuses == ["pruned", "succeeded", "succeeded"]


def test_output_copies_the_main_file(actor, tmp_path):
    install_preset("webshop", actor=actor)
    target = tmp_path / "upload" / "catalogue.jsonl"

    result = run_export("webshop", output=target)

    assert result.output == target
    assert target.read_bytes() == (result.folder / "webshop.jsonl").read_bytes()


def test_output_into_a_folder_keeps_the_file_name(actor, tmp_path):
    install_preset("yandex_market", actor=actor)

    result = run_export("yandex_market", output=tmp_path)

    assert result.output == tmp_path / "yandex_market.xml"
    assert (tmp_path / "yandex_market.xml").read_bytes() == (result.folder / "yandex_market.xml").read_bytes()


# --- delta runs -------------------------------------------------------------------------------


@pytest.fixture
def webshop_published(actor) -> list[str]:
    """The web shop profile after one full run; returns the SKUs it published, in feed order."""
    install_preset("webshop", actor=actor)
    result = run_export("webshop")
    return feed_skus(result, "webshop")


def change_price(sku: str, actor: Any, amount: str) -> None:
    update_product(sku, values={"price": prices("ecommerce", EUR=amount, USD=amount)}, actor=actor)


def test_delta_writes_only_changed_and_deleted_products(actor, webshop_published):
    changed = [webshop_published[0], webshop_published[40], webshop_published[-1]]
    for number, sku in enumerate(changed):
        change_price(sku, actor, f"7{number}.50")
    gone = webshop_published[20]
    delete_product(gone, actor=actor)

    result = run_export("webshop", is_delta=True)

    lines = json_lines(result.folder / "webshop.jsonl")
    assert result.is_delta
    assert (result.exported, result.deleted) == (3, 1)
    assert sorted(webshop_skus(lines)) == sorted(changed)
    assert [line for line in lines if line["type"] == "deleted"] == [{"type": "deleted", "sku": gone}]
    assert '"amount":"71.50"' in (result.folder / "webshop.jsonl").read_text(encoding="utf-8")


def test_second_delta_without_changes_writes_nothing(actor, webshop_published):
    change_price(webshop_published[5], actor, "55.00")
    run_export("webshop", is_delta=True)

    result = run_export("webshop", is_delta=True)

    assert (result.exported, result.deleted) == (0, 0)
    assert json_lines(result.folder / "webshop.jsonl") == []


def test_record_digest_is_stable_across_versions():
    """Digests are stored: one computed differently after an upgrade would make the next delta resend every product."""
    from decimal import Decimal

    from exporters.base import Measure, Money, Param, Record
    from pim.publishing.export import record_digest

    record = Record(
        "SKU-1",
        {
            "price": Money(Decimal("1.50"), "RUB"),
            "name": "Ботинки",
            "params": [Param("Вес", Measure(Decimal("2"), "KILOGRAM"), "kg", 1, 2), Decimal("0.1")],
            "in_stock": True,
            "count": 3,
            "pair": ("x", Money(Decimal(2), "EUR")),
        },
        group="MODEL-1",
    )

    assert record_digest(record).hex() == "cc08e60d0af89e0e9294ae0c47a3b3d1"


def test_delta_leaves_out_a_change_the_feed_does_not_show(actor):
    install_preset("webshop", actor=actor)
    definition = yaml.safe_load(show_definition("webshop"))
    # without the update time among the fields, a change to an unpublished attribute changes no record
    del definition["fields"]["updated"]
    apply_definition(definition, actor=actor)
    sku = feed_skus(run_export("webshop"), "webshop")[3]
    update_product(sku, values={"keywords": one("trail, running", locale="en_US")}, actor=actor)

    result = run_export("webshop", is_delta=True)

    assert (result.exported, result.unchanged, result.deleted) == (0, 1, 0)
    assert json_lines(result.folder / "webshop.jsonl") == []


def test_delta_deletes_a_product_that_left_the_selection(actor, webshop_published):
    sku = webshop_published[7]
    update_product(sku, enabled=False, actor=actor)

    result = run_export("webshop", is_delta=True)

    assert (result.exported, result.deleted) == (0, 1)
    assert json_lines(result.folder / "webshop.jsonl") == [{"type": "deleted", "sku": sku}]


def published_hashes(profile: str) -> dict[int, tuple[bytes, str]]:
    from pim.publishing.models import PublishedRecord

    profile_id = get_profile(profile).id
    rows = db.session.execute(select(PublishedRecord.product_id, PublishedRecord.digest, PublishedRecord.sku).where(PublishedRecord.profile_id == profile_id))
    return {product_id: (digest, sku) for product_id, digest, sku in rows}


def test_whole_run_keeps_the_hashes_of_exactly_what_it_published(actor, webshop_published):
    before = published_hashes("webshop")
    disabled, changed = webshop_published[7], webshop_published[9]
    update_product(disabled, enabled=False, actor=actor)
    change_price(changed, actor, "61.00")
    delete_product(webshop_published[11], actor=actor)

    result = run_export("webshop")

    after = published_hashes("webshop")
    assert sorted(sku for _digest, sku in after.values()) == sorted(feed_skus(result, "webshop"))
    changed_id = next(product_id for product_id, (_digest, sku) in after.items() if sku == changed)
    assert after[changed_id][0] != before[changed_id][0]
    assert {k: v for k, v in after.items() if k != changed_id} == {k: v for k, v in before.items() if k in after and k != changed_id}


def test_delta_after_a_whole_run_sends_a_product_enabled_again(actor, webshop_published):
    sku = webshop_published[7]
    update_product(sku, enabled=False, actor=actor)
    run_export("webshop")
    update_product(sku, enabled=True, actor=actor)

    result = run_export("webshop", is_delta=True)

    assert (result.exported, result.deleted) == (1, 0)
    assert webshop_skus(json_lines(result.folder / "webshop.jsonl")) == [sku]


def test_delta_is_refused_for_a_format_without_deltas(actor):
    install_preset("google_merchant", actor=actor)
    run_export("google_merchant")

    with pytest.raises(Invalid) as caught:
        run_export("google_merchant", is_delta=True)

    assert [e.field for e in caught.value.errors] == ["delta"]


def test_delta_is_refused_before_a_full_run(actor):
    install_preset("webshop", actor=actor)

    with pytest.raises(Invalid) as caught:
        run_export("webshop", is_delta=True)

    assert [e.field for e in caught.value.errors] == ["delta"]
    assert "full export first" in caught.value.errors[0].message


def test_run_export_of_an_unknown_profile_is_not_found():
    with pytest.raises(NotFound):
        run_export("amazon")


# --- explain ----------------------------------------------------------------------------------


def test_explain_a_product_in_the_feed(actor):
    install_preset("yandex_market", actor=actor)
    sku = first_sku_in("yandex_market")

    answer = explain("yandex_market", sku)

    assert answer["in_feed"] is True
    assert answer["reasons"] == []
    assert answer["record"]["key"] == sku
    assert answer["record"]["fields"]["vendorCode"] == sku
    assert answer["record"]["fields"]["price"].endswith(" RUB")


def test_explain_a_product_the_filter_leaves_out(actor):
    install_preset("yandex_market", actor=actor)
    sku = first_sku_in("yandex_market")
    update_product(sku, enabled=False, actor=actor)

    answer = explain("yandex_market", sku)

    assert answer["in_feed"] is False
    assert [r["reason"] for r in answer["reasons"]] == ["filtered_out"]


def test_explain_an_incomplete_product_names_what_is_missing(actor):
    install_preset("yandex_market", actor=actor)
    report = read_report(run_export("yandex_market").report_path)
    row = next(row for row in report if row["reason"] == "incomplete")

    answer = explain("yandex_market", row["sku"])

    assert answer["in_feed"] is False
    assert [(r["reason"], r["field"]) for r in answer["reasons"]] == [("incomplete", row["field"])]
    assert answer["record"] is not None


def test_explain_a_product_breaking_a_channel_rule(actor):
    install_preset("google_merchant", actor=actor)
    sku = first_sku_in("google_merchant")
    update_product(sku, values={"ean": one("4600000000018")}, actor=actor)

    answer = explain("google_merchant", sku)

    assert answer["in_feed"] is False
    assert [(r["reason"], r["field"]) for r in answer["reasons"]] == [("invalid_gtin", "gtin")]


def test_explain_an_unknown_sku_is_not_found(actor):
    install_preset("yandex_market", actor=actor)

    with pytest.raises(NotFound):
        explain("yandex_market", "NO-SUCH-SKU")


def test_model_picture_that_cannot_be_converted_skips_its_variants_with_the_reason(actor):
    """The picture of a model shows in its group and in each variant: none is published with a broken one."""
    from pim.catalog import media
    from pim.catalog.models import Product, ProductModel
    from pim.catalog.services import ProductModelInput, save_product_model
    from tests.pim.publishing.conftest import picture_key

    install_preset("webshop", actor=actor)
    roots = db.session.scalars(select(ProductModel).where(ProductModel.parent_id.is_(None)).order_by(ProductModel.id))
    model = next(candidate for candidate in roots if "image" in candidate.values)
    key = picture_key((13, 17, 19))
    save_product_model(ProductModelInput(model.code, values={"image": one(key)}), actor=actor)
    # the stored file is damaged on disk after it was accepted
    (media.media_root() / key).write_bytes(b"\xff\xd8\xff\xe0 no longer a picture")
    variants = list(db.session.scalars(select(Product.identifier).where(Product.parent_id == model.id)))
    assert variants

    result = run_export("webshop")

    rows = {row["sku"]: row for row in read_report(result.report_path) if row["sku"] in variants}
    assert sorted(rows) == sorted(variants)
    assert {row["reason"] for row in rows.values()} == {"image_unreadable"}
    assert all(key in row["message"] for row in rows.values())
    lines = json_lines(result.folder / "webshop.jsonl")
    assert model.code not in [line.get("code") for line in lines]
    assert not set(variants) & set(webshop_skus(lines))
