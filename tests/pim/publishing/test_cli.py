"""Publishing from the command line: a new user installs channels, edits one, exports and follows the jobs.

Every command runs as a real `pim` process against a temporary instance, as a user types it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.conftest import drop_database, make_database

DEMO_PRODUCTS = 200
# What a user adds under the price field of the second region's definition.
PRICE_RULE = '    price: {percent: 5, round: "1", only_fallback: true}\n'
OWN_PRICE = "4321.00"


def pim_command() -> list[str]:
    """Return how to start `pim`: the installed script beside this Python, else the module."""
    script = Path(sys.executable).with_name("pim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pim.cli"]


@dataclass(frozen=True)
class Instance:
    """An instance folder and its database, handed to `pim` through PIM_INSTANCE_PATH and PIM_DATABASE_URL."""

    folder: Path
    url: str

    def env(self) -> dict[str, str]:
        """Return the environment of a user working on this instance (no other PIM_ setting leaks in)."""
        env = {name: value for name, value in os.environ.items() if not name.startswith("PIM_")}
        env.update(PIM_INSTANCE_PATH=str(self.folder), PIM_DATABASE_URL=self.url)
        return env

    def feeds(self, profile: str) -> Path:
        """Return the folder of a profile's published runs."""
        return self.folder / "feeds" / profile


def pim(instance: Instance, *args: str, stdout: Any = subprocess.PIPE, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `pim` in a process of its own, as a user would in a shell."""
    return subprocess.run(
        [*pim_command(), *args],
        cwd=instance.folder,
        env=instance.env(),
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Insist that a command succeeded, showing what it said when it did not."""
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stderr.splitlines()


def assert_one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    """Insist on the command line's failure shape: status 1, nothing on stdout, one `error:` line; return it."""
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert len(error_lines(result)) == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def offers(path: Path) -> dict[str, etree._Element]:
    """Return the offers of a Yandex.Market feed file by offer id (our SKU)."""
    return {offer.get("id"): offer for offer in etree.parse(path).iter("offer")}


def price_of(offer: etree._Element) -> Decimal:
    return Decimal(offer.findtext("price"))


def published_feed(instance: Instance, profile: str) -> Path:
    """Return the main file of a profile's latest run, as `pim channel list --json` names it."""
    summaries = {item["code"]: item for item in json_lines(ok(pim(instance, "channel", "list", "--json")).stdout)}
    last = summaries[profile]["last_run"]
    return Path(last["report"]).parent / last["files"][0]


@pytest.fixture(scope="module")
def instance(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """A temporary instance where `pim demo --products 200` ran."""
    folder = tmp_path_factory.mktemp(f"publishing-cli-{backend}")
    created = Instance(folder, make_database(backend, folder))
    ok(pim(created, "demo", "--products", str(DEMO_PRODUCTS), "--json"))
    yield created
    drop_database(backend, created.url)


@dataclass(frozen=True)
class NewUserPath:
    """What the commands of a new user's first session said, and the feeds they published."""

    install_market: subprocess.CompletedProcess[str]
    install_google: subprocess.CompletedProcess[str]
    install_spb: subprocess.CompletedProcess[str]
    definition: str
    apply: subprocess.CompletedProcess[str]
    export_spb: subprocess.CompletedProcess[str]
    export_market: dict[str, Any]
    spb_feed: Path
    market_feed: Path


@pytest.fixture(scope="module")
def new_user(instance: Instance) -> NewUserPath:
    """Install Yandex.Market, Google Merchant and a second Yandex region with 5% dearer prices; publish both regions."""
    install_market = ok(pim(instance, "channel", "install", "yandex_market"))
    install_google = ok(pim(instance, "channel", "install", "google_merchant", "--json"))
    install_spb = ok(pim(instance, "channel", "install", "yandex_market", "--code", "yandex_market_spb", "--fallback", "marketplace"))
    path = instance.folder / "spb.yaml"
    with path.open("w", encoding="utf-8") as out:
        ok(pim(instance, "channel", "show", "yandex_market_spb", stdout=out))
    shown = path.read_text(encoding="utf-8")
    # the edit a user makes in a text editor: one line under the price field
    assert shown.count("  price:\n    attribute: price\n") == 1, shown
    path.write_text(shown.replace("  price:\n    attribute: price\n", "  price:\n    attribute: price\n" + PRICE_RULE), encoding="utf-8")
    apply = ok(pim(instance, "channel", "apply", str(path)))
    export_spb = ok(pim(instance, "export", "yandex_market_spb"))
    export_market = json.loads(ok(pim(instance, "export", "yandex_market", "--json")).stdout)
    return NewUserPath(
        install_market=install_market,
        install_google=install_google,
        install_spb=install_spb,
        definition=shown,
        apply=apply,
        export_spb=export_spb,
        export_market=export_market,
        spb_feed=published_feed(instance, "yandex_market_spb"),
        market_feed=published_feed(instance, "yandex_market"),
    )


@pytest.fixture(scope="module")
def incomplete_product(new_user: NewUserPath) -> tuple[str, list[str]]:
    """A product the Yandex.Market feed left out as incomplete, with the attributes it misses."""
    with open(Path(new_user.export_market["result"]["report"]), newline="", encoding="utf-8") as handle:
        row = next(row for row in csv.DictReader(handle) if row["reason"] == "incomplete")
    return row["sku"], row["field"].split(",")


# --- installing and editing channels ----------------------------------------------------------


def test_channel_install_prints_the_profile_its_channel_and_feed_address(new_user):
    assert re.fullmatch(
        r"installed yandex_market \(yandex_market\) on channel marketplace; feed at http://\S+/feeds/[\w-]+/yandex_market\.xml\n",
        new_user.install_market.stdout,
    )


def test_channel_install_json_names_the_profile_channel_format_and_feed(new_user):
    installed = json.loads(new_user.install_google.stdout)

    assert (installed["code"], installed["channel"], installed["format"]) == ("google_merchant", "marketplace", "google_merchant")
    assert installed["feed"].endswith("/google_merchant.xml")


def test_channel_install_with_fallback_publishes_from_a_new_channel_of_the_profile_name(new_user):
    assert "installed yandex_market_spb (yandex_market) on channel yandex_market_spb;" in new_user.install_spb.stdout


def test_channel_show_prints_the_definition_headed_by_its_feed_address(new_user):
    first, *rest = new_user.definition.splitlines()

    assert first.startswith("# export profile yandex_market_spb: feed at http")
    assert "code: yandex_market_spb" in rest and "channel: yandex_market_spb" in rest


def test_channel_apply_of_an_edited_definition_updates_the_profile(instance, new_user):
    assert new_user.apply.stdout == "updated export profile yandex_market_spb\n"
    shown = ok(pim(instance, "channel", "show", "yandex_market_spb", "--json"))
    assert json.loads(shown.stdout)["definition"]["fields"]["price"] == {
        "attribute": "price",
        "price": {"percent": 5, "round": "1", "only_fallback": True},
    }


def test_channel_apply_lists_every_problem_of_an_invalid_definition_and_changes_nothing(instance, new_user):
    path = instance.folder / "broken.yaml"
    path.write_text(
        "code: broken_feed\n"
        "channel: marketplace\n"
        "format: yandex_market\n"
        'schedule: "61 * * * *"\n'
        "fields:\n"
        '  name: {template: "{name} {colour}"}\n'
        '  url: {url: "/products/{sku}"}\n'
        "  price: {attribute: price, sparkle: true}\n"
        "  categoryId: {category: id}\n"
        "  vendorCode: {property: sku}\n",
        encoding="utf-8",
    )

    result = pim(instance, "channel", "apply", str(path))

    assert result.returncode == 1 and result.stdout == ""
    problems = error_lines(result)
    assert len(problems) == 3, result.stderr
    assert all(line.startswith("error: ") for line in problems)
    assert any(line.startswith("error: fields.name:") and "{colour}" in line for line in problems)
    assert any(line.startswith("error: fields.price:") and "'sparkle'" in line for line in problems)
    assert any(line.startswith("error: schedule:") and "61" in line for line in problems)
    assert "Traceback" not in result.stderr
    assert pim(instance, "channel", "show", "broken_feed").returncode == 1


def test_channel_install_of_an_unknown_preset_fails_with_one_line_naming_the_presets(instance):
    presets = json.loads(ok(pim(instance, "channel", "presets", "--json")).stdout)

    line = assert_one_line_failure(pim(instance, "channel", "install", "nope"))

    assert "'nope'" in line
    assert presets and all(preset in line for preset in presets)


# --- exporting ----------------------------------------------------------------------------------


def test_export_prints_where_it_published_and_the_counts(new_user):
    result = new_user.export_spb

    published = re.fullmatch(r"published yandex_market_spb\.xml \(([\d,]+) bytes\) at (http://\S+/feeds/[\w-]+/yandex_market_spb\.xml)\n", result.stdout)
    assert published, result.stdout
    assert int(published.group(1).replace(",", "")) == new_user.spb_feed.stat().st_size
    counts = re.search(r"^([\d,]+) exported, ([\d,]+) skipped; report (\S+)$", result.stderr, re.MULTILINE)
    assert counts, result.stderr
    exported, skipped = (int(counts.group(n).replace(",", "")) for n in (1, 2))
    assert exported == len(offers(new_user.spb_feed)) > 0
    assert exported + skipped == DEMO_PRODUCTS
    assert Path(counts.group(3)).exists()


def test_regional_feed_prices_are_five_percent_above_the_fallback_channel_feed(new_user):
    regional, base = offers(new_user.spb_feed), offers(new_user.market_feed)

    assert regional.keys() == base.keys() and regional
    for sku, offer in regional.items():
        expected = (price_of(base[sku]) * Decimal("1.05")).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        assert price_of(offer) == expected, sku
        assert offer.findtext("currencyId") == "RUB"


def test_own_regional_price_set_with_product_update_is_kept_in_the_next_export(instance, new_user):
    sku, other = list(offers(new_user.spb_feed))[:2]
    values = {"price": [{"locale": None, "scope": "yandex_market_spb", "data": [{"amount": OWN_PRICE, "currency": "RUB"}]}]}
    ok(pim(instance, "product", "update", sku, "--values", json.dumps(values)))

    ok(pim(instance, "export", "yandex_market_spb"))

    regional = offers(published_feed(instance, "yandex_market_spb"))
    assert price_of(regional[sku]) == Decimal(OWN_PRICE)
    assert price_of(regional[other]) == price_of(offers(new_user.spb_feed)[other])


def test_export_explain_of_an_incomplete_product_names_the_missing_attributes(instance, incomplete_product):
    sku, missing = incomplete_product

    result = ok(pim(instance, "export", "explain", "yandex_market", sku))

    assert result.stdout.startswith(f"{sku} is NOT in the yandex_market feed:\n  - incomplete: ")
    reason = result.stdout.splitlines()[1]
    assert all(attribute in reason for attribute in missing)


def test_export_explain_json_gives_the_reasons_and_the_record(instance, incomplete_product):
    sku, missing = incomplete_product

    data = json.loads(ok(pim(instance, "export", "explain", "yandex_market", sku, "--json")).stdout)

    assert data["in_feed"] is False
    assert [(reason["reason"], reason["field"].split(",")) for reason in data["reasons"]] == [("incomplete", missing)]
    assert data["record"]["key"] == sku


def test_export_explain_tells_what_a_label_will_be_printed_without(instance):
    ok(pim(instance, "channel", "install", "shelf_labels", "--code", "labels_explained"))
    grocery = ok(pim(instance, "product", "list", "--filter", '{"family": [{"operator": "IN", "value": ["grocery"]}]}')).stdout.split()
    sku, data = next(
        (sku, data)
        for sku in grocery
        if sku.startswith("GR") and (data := json.loads(ok(pim(instance, "export", "explain", "labels_explained", sku, "--json")).stdout))["in_feed"]
    )
    ean = data["record"]["fields"]["ean"]
    wrong = ean[:-1] + str((int(ean[-1]) + 1) % 10)
    ok(pim(instance, "product", "update", sku, "--values", json.dumps({"ean": [{"locale": None, "scope": None, "data": wrong}]})))

    result = ok(pim(instance, "export", "explain", "labels_explained", sku.lower()))

    assert result.stdout.startswith(f"{sku.lower()} is in the labels_explained feed.\npublished with warnings:\n  - invalid_gtin: ")
    assert "printed without a barcode" in result.stdout.splitlines()[2]


def test_export_delta_of_a_whole_feed_format_is_refused_with_one_line(instance, new_user):
    line = assert_one_line_failure(pim(instance, "export", "google_merchant", "--delta"))

    assert "whole feeds only" in line


def test_export_json_prints_the_job_its_status_and_the_result(new_user):
    outcome = new_user.export_market

    assert outcome["status"] == "succeeded"
    assert outcome["feed"].endswith("/yandex_market.xml")
    assert outcome["result"]["files"][0]["name"] == "yandex_market.xml"
    assert outcome["result"]["exported"] == len(offers(new_user.market_feed))


@pytest.mark.parametrize(
    "args",
    [
        ["channel", "list", "--json"],
        ["channel", "show", "yandex_market", "--json"],
        ["channel", "presets", "--json"],
        ["channel", "rotate-token", "google_merchant", "--json"],
        ["jobs", "--json"],
        ["job", "show", "{job}", "--json"],
        ["export", "--due", "--json"],
    ],
    ids=["channel_list", "channel_show", "channel_presets", "channel_rotate_token", "jobs", "job_show", "export_due"],
)
def test_json_output_of_publishing_commands_parses(instance, new_user, args):
    args = [arg.format(job=new_user.export_market["job"]) for arg in args]

    result = ok(pim(instance, *args))

    assert result.stdout.strip()
    assert all(isinstance(item, dict | list) for item in json_lines(result.stdout))


# --- following the export jobs ------------------------------------------------------------------


def test_jobs_json_lists_the_exports_as_succeeded(instance, new_user):
    jobs = json_lines(ok(pim(instance, "jobs", "--type", "export", "--json")).stdout)

    regions = [job for job in jobs if job["params"]["profile"] in ("yandex_market", "yandex_market_spb")]
    assert {job["params"]["profile"] for job in regions} == {"yandex_market", "yandex_market_spb"}
    assert all(job["type"] == "export" and job["status"] == "succeeded" for job in regions)


def test_job_show_prints_the_counts_of_an_export(instance, new_user):
    job = new_user.export_market["job"]
    result = new_user.export_market["result"]

    shown = ok(pim(instance, "job", "show", str(job))).stdout.splitlines()

    assert shown[0] == f"Job {job}: export (succeeded)"
    counts = next(line for line in shown if line.startswith("Counts: "))
    assert f"exported {result['exported']:,}" in counts and f"skipped {result['skipped']:,}" in counts


def test_export_no_wait_leaves_a_queued_job_that_cancel_ends(instance, new_user):
    queued = ok(pim(instance, "export", "google_merchant", "--no-wait"))
    found = re.fullmatch(r"queued job (\d+); `pim job show \1` follows it\n", queued.stderr)
    assert found and queued.stdout == "", queued.stderr
    job = found.group(1)
    try:
        assert json.loads(ok(pim(instance, "job", "show", job, "--json")).stdout)["status"] == "queued"
    finally:
        cancelled = ok(pim(instance, "job", "cancel", job))

    assert cancelled.stderr == f"Job {job} cancelled.\n"
    assert json.loads(ok(pim(instance, "job", "show", job, "--json")).stdout)["status"] == "cancelled"


def test_labels_print_every_label_first_then_only_the_changed_ones(instance):
    ok(pim(instance, "channel", "install", "shelf_labels"))
    first = ok(pim(instance, "labels", "shelf_labels", "--changed-since-last"))
    assert "printed no labels yet" in first.stderr
    assert re.search(r"published shelf_labels\.pdf", first.stdout)
    printed = int(re.search(r"([\d,]+) exported", first.stderr).group(1).replace(",", ""))
    assert printed > 1

    again = json.loads(ok(pim(instance, "labels", "shelf_labels", "--changed-since-last", "--json")).stdout)

    assert (again["result"]["exported"], again["result"]["delta"]) == (0, True)


def test_labels_of_named_skus_and_refusals(instance, new_user):
    ok(pim(instance, "channel", "install", "shelf_labels", "--code", "labels_by_sku"))
    skus = [
        line
        for line in ok(pim(instance, "product", "list", "--filter", '{"family": [{"operator": "IN", "value": ["grocery"]}]}')).stdout.split()
        if line.startswith("GR")
    ][:2]
    chosen = json.loads(ok(pim(instance, "labels", "labels_by_sku", "--sku", skus[0], "--sku", skus[1], "--json")).stdout)
    assert chosen["result"]["exported"] + chosen["result"]["skipped"] == 2

    assert "not labels" in assert_one_line_failure(pim(instance, "labels", "yandex_market"))
    assert "NOPE-1" in assert_one_line_failure(pim(instance, "labels", "labels_by_sku", "--sku", "NOPE-1"))
