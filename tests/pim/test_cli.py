"""The `pim` command against a real database: schema, demo catalogue, product listing and history."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result

from pim import db
from pim.actor import Actor, Source
from pim.app import create_app
from pim.catalog import media
from pim.catalog.serialize import product_to_standard
from pim.catalog.services import get_product, update_product
from pim.cli import main
from pim.demo import CHANNELS, ean13
from pim.migrate import alembic_config
from tests.conftest import _postgres_database, drop_database, make_database

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def family_filter(family: str) -> str:
    return json.dumps({"family": [{"operator": "IN", "value": [family]}]})


SHOES = family_filter("shoes")
APPAREL = family_filter("apparel")


@dataclass(frozen=True)
class Instance:
    """An instance folder and its database, as PIM_INSTANCE_PATH and PIM_DATABASE_URL name them."""

    folder: Path
    url: str

    def point(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PIM_INSTANCE_PATH", str(self.folder))
        monkeypatch.setenv("PIM_DATABASE_URL", self.url)
        monkeypatch.delenv("PIM_SECRET_KEY", raising=False)


@contextlib.contextmanager
def own_application() -> Iterator[None]:
    """Give back the session binding and media folder that a `create_app` in the block takes over."""
    bind = db.session.session_factory.kw.get("bind")
    media_root = media.media_root()
    try:
        yield
    finally:
        db.session.remove()
        db.session.configure(bind=bind)
        media.configure(media_root)


def pim(*args: str) -> Result:
    """Run the `pim` command as a user would, then release the database its application opened."""
    obj: dict[str, Any] = {}
    with own_application():
        try:
            return CliRunner().invoke(main, list(args), obj=obj)
        finally:
            if "app" in obj:
                obj["app"].extensions["pim_engine"].dispose()


def lines(result: Result) -> list[str]:
    return result.stdout.splitlines()


def assert_one_line_failure(result: Result) -> None:
    assert result.exit_code == 1, result.stdout
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


@contextlib.contextmanager
def app_context() -> Iterator[None]:
    """Work inside the application the environment describes, as the CLI does."""
    with own_application():
        app = create_app()
        try:
            with app.app_context():
                yield
        finally:
            app.extensions["pim_engine"].dispose()


@pytest.fixture
def empty_instance(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    """A new instance folder whose database has no schema yet."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'pim.sqlite3'}"
    else:
        url = _postgres_database(f"pim_cli_{uuid.uuid4().hex[:10]}")
    instance = Instance(tmp_path, url)
    instance.point(monkeypatch)
    yield instance
    drop_database(backend, url)


@pytest.fixture(scope="module")
def demo_load(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Instance, Result]]:
    """An instance where `pim demo --products 60 --json` ran, shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp(f"cli-{backend}")
    instance = Instance(folder, make_database(backend, folder))
    with pytest.MonkeyPatch.context() as monkeypatch:
        instance.point(monkeypatch)
        result = pim("demo", "--products", "60", "--json")
    yield instance, result
    drop_database(backend, instance.url)


@pytest.fixture
def demo(demo_load: tuple[Instance, Result], monkeypatch: pytest.MonkeyPatch) -> Instance:
    """The environment of a user working on the demo instance."""
    instance, result = demo_load
    assert result.exit_code == 0, result.stderr
    instance.point(monkeypatch)
    return instance


def weighing(kilograms: str) -> dict[str, Any]:
    return {"weight": [{"locale": None, "scope": None, "data": {"amount": kilograms, "unit": "KILOGRAM"}}]}


def first_identifier(filter_json: str) -> str:
    result = pim("product", "list", "--filter", filter_json, "--limit", "1")
    return result.stdout.split("\t")[0]


def weight_of(identifier: str) -> dict[str, Any]:
    data = json.loads(pim("product", "show", identifier, "--json").stdout)
    return data["values"]["weight"][0]["data"]


# --- the command as a whole ---------------------------------------------------------------


def commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


@pytest.mark.parametrize("name", [name for name, _command in commands(main) if name not in ("serve", "worker")])
def test_every_command_but_the_servers_accepts_json(name):
    command = dict(commands(main))[name]

    assert "--json" in [option for param in command.params for option in param.opts]


# --- schema ---------------------------------------------------------------------------------


def test_db_current_reports_an_empty_database(empty_instance):
    result = pim("db", "current")

    assert result.exit_code == 0, result.stderr
    assert lines(result) == ["empty"]


def test_db_upgrade_brings_a_new_database_to_the_head_revision(empty_instance):
    upgraded = pim("db", "upgrade")

    assert upgraded.exit_code == 0, upgraded.stderr
    assert upgraded.stdout == "" and "up to date" in upgraded.stderr
    assert lines(pim("db", "current")) == [HEAD]


def test_db_upgrade_json_prints_the_revision_reached(empty_instance):
    result = pim("db", "upgrade", "--json")

    assert json.loads(result.stdout) == {"revision": HEAD}


def test_db_current_json_gives_null_for_an_empty_database(empty_instance):
    assert json.loads(pim("db", "current", "--json").stdout) == {"revision": None}


def test_db_upgrade_twice_changes_nothing(empty_instance):
    pim("db", "upgrade")

    again = pim("db", "upgrade")

    assert again.exit_code == 0, again.stderr
    assert lines(pim("db", "current")) == [HEAD]


def test_command_on_a_database_without_schema_fails_with_one_line(empty_instance):
    assert_one_line_failure(pim("product", "list"))


# --- demo and statistics --------------------------------------------------------------------


def test_demo_reports_what_it_loaded_as_json(demo_load):
    _instance, result = demo_load

    assert result.exit_code == 0, result.stderr
    figures = json.loads(result.stdout)
    assert (figures["created"], figures["updated"], figures["rejected"]) == (60, 0, 0)


def test_demo_of_sixty_products_holds_every_family(demo):
    families = ["shoes", "apparel", "electronics", "grocery"]

    held = [f for f in families if lines(pim("product", "list", "--filter", family_filter(f), "--limit", "1"))]

    assert held == families


def test_demo_progress_goes_to_stderr_as_plain_lines(demo_load):
    _instance, result = demo_load

    assert "Loading demo catalogue: 60/60" in result.stderr
    assert "\r" not in result.stderr


def test_catalog_stats_counts_the_demo_products(demo):
    result = pim("catalog", "stats", "--json")

    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["counts"]["products"] == 60
    assert stats["counts"]["channels"] == len(CHANNELS)
    assert stats["counts"]["locales"] == 3


def test_catalog_stats_lists_completeness_for_every_channel_and_locale(demo):
    stats = json.loads(pim("catalog", "stats", "--json").stdout)

    pairs = {(row["channel"], row["locale"]) for row in stats["completeness"]}
    assert pairs == {(channel, locale) for channel, spec in CHANNELS.items() for locale in spec["locales"]}
    assert all(row["products"] == 60 and row["complete"] + row["incomplete"] == 60 for row in stats["completeness"])
    assert all(0 <= row["ratio"] <= 100 for row in stats["completeness"])


def test_catalog_stats_shows_a_share_of_incomplete_products(demo):
    stats = json.loads(pim("catalog", "stats", "--json").stdout)

    assert sum(row["incomplete"] for row in stats["completeness"]) > 0


# --- product list ---------------------------------------------------------------------------


def test_product_list_prints_identifier_and_label_per_line(demo):
    result = pim("product", "list", "--limit", "5")

    assert result.exit_code == 0, result.stderr
    rows = [line.split("\t") for line in lines(result)]
    assert len(rows) == 5
    assert all(len(row) == 2 and row[0] and row[1] for row in rows)
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)


def test_product_list_without_limit_stops_at_fifty(demo):
    assert len(lines(pim("product", "list"))) == 50


def test_product_list_with_limit_zero_lists_every_product(demo):
    assert len(lines(pim("product", "list", "--limit", "0"))) == 60


def test_product_list_filter_prints_json_lines_of_matching_products(demo):
    result = pim("product", "list", "--filter", APPAREL, "--limit", "0", "--json")

    assert result.exit_code == 0, result.stderr
    items = [json.loads(line) for line in lines(result)]
    assert items and all(set(item) == {"identifier", "label"} for item in items)
    with app_context():
        families = {product_to_standard(get_product(item["identifier"]))["family"] for item in items}
    assert families == {"apparel"}


def test_product_list_filter_finds_every_matching_product(demo):
    apparel = {json.loads(line)["identifier"] for line in lines(pim("product", "list", "--filter", APPAREL, "--limit", "0", "--json"))}
    everything = [line.split("\t")[0] for line in lines(pim("product", "list", "--limit", "0"))]

    with app_context():
        expected = {sku for sku in everything if product_to_standard(get_product(sku))["family"] == "apparel"}
    assert apparel == expected


def test_product_list_count_goes_to_stderr(demo):
    result = pim("product", "list", "--filter", APPAREL, "--count", "--limit", "1")

    assert result.stderr.endswith("products match\n")
    assert len(lines(result)) == 1


@pytest.mark.parametrize(
    "filter_json",
    [
        '{"family": [{"operator": "IN", "value": ["grocery"]}',
        '["grocery"]',
        '{"family": "grocery"}',
        '{"family": [{"operator": "IN", "value": ["boats"]}]}',
        '{"colour": [{"operator": "=", "value": "red"}]}',
    ],
    ids=["truncated", "not_an_object", "not_a_list", "unknown_family", "unknown_attribute"],
)
def test_product_list_with_a_bad_filter_fails_with_one_line(demo, filter_json):
    result = pim("product", "list", "--filter", filter_json)

    assert_one_line_failure(result)
    assert result.stderr.startswith("error: search")


def test_product_list_with_an_unknown_sort_fails_with_one_line(demo):
    assert_one_line_failure(pim("product", "list", "--sort", "colour"))


# --- product show ---------------------------------------------------------------------------


def test_product_show_prints_the_standard_format(demo):
    sku = first_identifier(SHOES)

    result = pim("product", "show", sku)

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert uuid.UUID(data["uuid"])
    assert (data["identifier"], data["family"]) == (sku, "shoes")
    assert data["values"]["sku"] == [{"locale": None, "scope": None, "data": sku}]
    for entries in data["values"].values():
        assert all(set(entry) == {"locale", "scope", "data"} for entry in entries)


def test_product_show_gives_scopable_values_per_channel(demo):
    data = json.loads(pim("product", "show", first_identifier(SHOES)).stdout)

    scopes = {entry["scope"] for entry in data["values"]["price"]}
    assert scopes <= set(CHANNELS) and len(scopes) > 1
    assert all(entry["locale"] is None for entry in data["values"]["price"])


def test_product_show_of_a_variant_includes_inherited_values(demo):
    variant = first_identifier('{"parent": [{"operator": "NOT EMPTY"}]}')

    data = json.loads(pim("product", "show", variant).stdout)

    assert data["parent"] and "name" in data["values"] and "size" in data["values"]


def test_product_show_with_completeness_lists_every_channel_and_locale(demo):
    data = json.loads(pim("product", "show", first_identifier(APPAREL), "--completeness", "--json").stdout)

    pairs = {(c["scope"], c["locale"]) for c in data["completenesses"]}
    assert pairs == {(channel, locale) for channel, spec in CHANNELS.items() for locale in spec["locales"]}


def test_product_show_of_an_unknown_product_fails_with_its_identifier(demo):
    result = pim("product", "show", "NOPE")

    assert_one_line_failure(result)
    assert result.stderr == "error: Product 'NOPE' does not exist\n"


# --- history and revert ---------------------------------------------------------------------


def test_product_history_lists_a_change_made_through_the_services(demo):
    sku = first_identifier(SHOES)
    with app_context():
        update_product(sku, values=weighing("0.97"), actor=Actor("anna", Source.UI))

    result = pim("product", "history", sku, "--json")

    assert result.exit_code == 0, result.stderr
    newest, *older = [json.loads(line) for line in lines(result)]
    assert (newest["author"], newest["source"]) == ("anna", "ui")
    assert newest["changes"]["weight||"]["new"]["amount"] == "0.97"
    assert older[-1]["version"] == 1 and older[-1]["source"] == "import"


def test_product_history_prints_one_line_per_version(demo):
    sku = first_identifier(APPAREL)
    with app_context():
        update_product(sku, values={"ean": [{"locale": None, "scope": None, "data": ean13(999_000_001)}]}, actor=Actor("anna", Source.UI))
        version = get_product(sku).version

    history = lines(pim("product", "history", sku))

    assert len(history) == version
    assert history[0].startswith(f"v{version} ") and "anna (ui)" in history[0] and history[0].endswith("ean||")


def test_product_revert_restores_an_earlier_version(demo):
    sku = first_identifier(SHOES)
    with app_context():
        version = get_product(sku).version
    before = weight_of(sku)
    with app_context():
        update_product(sku, values=weighing("4.44"), actor=Actor("anna", Source.UI))

    result = pim("product", "revert", sku, str(version))

    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"{sku}: updated, now at version {version + 2}\n"
    assert weight_of(sku) == before


def test_product_revert_is_recorded_as_a_new_version(demo):
    sku = first_identifier(APPAREL)
    with app_context():
        version = get_product(sku).version
        update_product(sku, values={"ean": [{"locale": None, "scope": None, "data": ean13(999_000_002)}]}, actor=Actor("anna", Source.UI))

    pim("product", "revert", sku, str(version))

    newest = json.loads(lines(pim("product", "history", sku, "--json"))[0])
    assert newest["version"] == version + 2 and newest["source"] == "revert"


def test_product_revert_json_prints_the_outcome(demo):
    sku = first_identifier(SHOES)
    with app_context():
        version = get_product(sku).version
        update_product(sku, values=weighing("3.33"), actor=Actor("anna", Source.UI))

    result = pim("product", "revert", sku, str(version), "--json")

    assert json.loads(result.stdout) == {"identifier": sku, "status": "updated", "version": version + 2}


def test_product_revert_to_a_version_that_does_not_exist_fails_with_one_line(demo):
    sku = first_identifier(APPAREL)

    result = pim("product", "revert", sku, "999")

    assert_one_line_failure(result)
    assert "has no version 999" in result.stderr


def test_serve_with_demo_answers_on_the_printed_address(tmp_path):
    """The quick start's command: an empty instance gets the demo and the page lists it."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIM_")}
    env["PIM_INSTANCE_PATH"] = str(tmp_path / "instance")
    server = subprocess.Popen(
        [sys.executable, "-m", "pim.cli", "serve", "--demo", "--demo-products", "40", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        page = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert page is not None, server.stderr.read() if server.poll() is not None else "no answer"
        assert "<small>40</small>" in page
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in err


# --- product update, load and show --channel on an instance with a regional channel -------------

PRICED_SINGLES = json.dumps({"parent": [{"operator": "EMPTY"}], "price": [{"operator": "NOT EMPTY", "scope": "marketplace"}]})
VARIANTS = '{"parent": [{"operator": "NOT EMPTY"}]}'
REGION = "yandex_market_spb"


@pytest.fixture(scope="module")
def regional_load(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """An instance of 200 demo products and a channel yandex_market_spb whose values fall back to marketplace's."""
    folder = tmp_path_factory.mktemp(f"cli-regional-{backend}")
    instance = Instance(folder, make_database(backend, folder))
    with pytest.MonkeyPatch.context() as monkeypatch:
        instance.point(monkeypatch)
        loaded = pim("demo", "--products", "200", "--json")
        installed = pim("channel", "install", "yandex_market", "--code", REGION, "--fallback", "marketplace")
    assert loaded.exit_code == 0, loaded.stderr
    assert installed.exit_code == 0, installed.stderr
    yield instance
    drop_database(backend, instance.url)


@pytest.fixture
def regional(regional_load: Instance, monkeypatch: pytest.MonkeyPatch) -> Instance:
    """The environment of a user working on the instance with the regional channel."""
    regional_load.point(monkeypatch)
    return regional_load


def identifiers(filter_json: str, limit: int) -> list[str]:
    return [line.split("\t")[0] for line in lines(pim("product", "list", "--filter", filter_json, "--limit", str(limit)))]


def single(index: int) -> str:
    """Return the identifier of a product without a model, priced for the marketplace; each test changes one of its own."""
    return identifiers(PRICED_SINGLES, index + 1)[index]


def standard(identifier: str, *options: str) -> dict[str, Any]:
    result = pim("product", "show", identifier, "--json", *options)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def version_of(identifier: str) -> int:
    return standard(identifier)["metadata"]["version"]


def own_price(amount: str) -> dict[str, Any]:
    return {"price": [{"locale": None, "scope": REGION, "data": [{"amount": amount, "currency": "RUB"}]}]}


def write_lines(path: Path, *items: Any) -> str:
    """Write a JSON Lines file: dicts as JSON, strings as they are; return its path."""
    path.write_text("".join((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)) + "\n" for item in items), encoding="utf-8")
    return str(path)


def test_product_update_changes_only_the_values_given(regional):
    sku = single(0)
    before = standard(sku)

    result = pim("product", "update", sku, "--values", json.dumps(weighing("0.61")))

    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"{sku}: updated, now at version {before['metadata']['version'] + 1}\n"
    after = standard(sku)
    assert Decimal(after["values"]["weight"][0]["data"]["amount"]) == Decimal("0.61")
    assert {k: v for k, v in after["values"].items() if k != "weight"} == {k: v for k, v in before["values"].items() if k != "weight"}


def test_product_update_json_prints_the_identifier_status_and_version(regional):
    sku = single(1)
    version = version_of(sku)

    result = pim("product", "update", sku, "--values", json.dumps(weighing("0.72")), "--json")

    assert json.loads(result.stdout) == {"identifier": sku, "status": "updated", "version": version + 1}


def test_product_update_with_the_values_the_product_has_is_unchanged(regional):
    sku = single(0)
    data = standard(sku)

    result = pim("product", "update", sku, "--values", json.dumps({"ean": data["values"]["ean"]}), "--json")

    assert json.loads(result.stdout) == {"identifier": sku, "status": "unchanged", "version": data["metadata"]["version"]}


def test_product_update_with_a_unit_of_another_measure_fails_naming_the_value_and_writes_nothing(regional):
    sku = single(0)
    version = version_of(sku)
    values = {"weight": [{"locale": None, "scope": None, "data": {"amount": "1", "unit": "LITER"}}]}

    result = pim("product", "update", sku, "--values", json.dumps(values))

    assert_one_line_failure(result)
    assert result.stderr.startswith("error: values.weight: ") and "'LITER'" in result.stderr
    assert version_of(sku) == version


def test_product_update_with_values_that_are_not_json_fails_with_one_line(regional):
    result = pim("product", "update", single(0), "--values", '{"weight": [')

    assert_one_line_failure(result)
    assert result.stderr.startswith("error: values: --values is not valid JSON")


def test_product_update_at_a_stale_version_is_refused_and_writes_nothing(regional):
    sku = single(2)
    read_at = version_of(sku)
    assert pim("product", "update", sku, "--values", json.dumps(weighing("0.83"))).exit_code == 0

    result = pim("product", "update", sku, "--version", str(read_at), "--values", json.dumps(weighing("0.84")))

    assert_one_line_failure(result)
    assert "changed by someone else" in result.stderr
    assert Decimal(standard(sku)["values"]["weight"][0]["data"]["amount"]) == Decimal("0.83")


def test_product_update_disabled_and_enabled_switch_the_product_off_and_on(regional):
    sku = single(3)

    disabled = pim("product", "update", sku, "--disabled")
    is_off = standard(sku)["enabled"]
    enabled = pim("product", "update", sku, "--enabled")

    assert (disabled.exit_code, enabled.exit_code) == (0, 0)
    assert (is_off, standard(sku)["enabled"]) == (False, True)


def test_product_update_of_an_unknown_product_fails_with_its_identifier(regional):
    result = pim("product", "update", "NOPE", "--disabled")

    assert_one_line_failure(result)
    assert result.stderr == "error: Product 'NOPE' does not exist\n"


def test_product_load_creates_new_products_and_updates_existing_ones(regional, tmp_path):
    existing = single(4)
    new = {"identifier": "TEA_GREEN_100", "family": "grocery", "values": {"brand": [{"locale": None, "scope": None, "data": "volga"}]}}
    path = write_lines(tmp_path / "products.jsonl", new, {"identifier": existing, "values": weighing("0.95")})

    result = pim("product", "load", path)

    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "2 lines: 1 created, 1 updated, 0 unchanged, 0 rejected"
    assert standard("TEA_GREEN_100")["family"] == "grocery"
    assert Decimal(standard(existing)["values"]["weight"][0]["data"]["amount"]) == Decimal("0.95")


def test_product_load_of_what_product_show_prints_changes_nothing(regional, tmp_path):
    products = [standard(single(0)), standard(identifiers(VARIANTS, 1)[0])]
    path = write_lines(tmp_path / "shown.jsonl", *products)

    result = pim("product", "load", path, "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"lines": 2, "created": 0, "updated": 0, "unchanged": 2, "rejected": 0, "problems": []}


def test_product_load_names_each_rejected_line_keeps_the_good_ones_and_exits_1(regional, tmp_path):
    good = {"identifier": "TEA_BLACK_250", "family": "grocery"}
    path = write_lines(tmp_path / "partner.jsonl", good, '{"identifier": "TEA_RED", "values": }', "", {"identifier": "BOAT_1", "family": "boats"})

    result = pim("product", "load", path)

    assert result.exit_code == 1
    problems = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert problems[0].startswith("line 2: line: not valid JSON")
    assert problems[1] == "line 4 (BOAT_1): family: Family 'boats' does not exist"
    assert result.stderr.splitlines()[-1] == "3 lines: 1 created, 0 updated, 0 unchanged, 2 rejected"
    assert standard("TEA_BLACK_250")["family"] == "grocery"


def test_product_load_check_version_refuses_a_product_changed_since_it_was_read(regional, tmp_path):
    sku = single(5)
    read = standard(sku)
    assert pim("product", "update", sku, "--values", json.dumps(weighing("1.11"))).exit_code == 0
    path = write_lines(tmp_path / "stale.jsonl", read)

    result = pim("product", "load", path, "--check-version", "--json")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["rejected"], [p["line"] for p in report["problems"]]) == (1, [1])
    assert Decimal(standard(sku)["values"]["weight"][0]["data"]["amount"]) == Decimal("1.11")


def test_product_show_channel_gives_a_channel_without_values_of_its_own_those_of_its_fallback(regional):
    sku = single(6)
    marketplace = [entry["data"] for entry in standard(sku)["values"]["price"] if entry["scope"] == "marketplace"]

    shown = standard(sku, "--channel", REGION)

    assert shown["values"]["price"] == [{"locale": None, "scope": REGION, "data": marketplace[0]}]


def test_product_show_channel_prefers_the_channel_own_value_to_its_fallback(regional):
    sku = single(7)
    assert pim("product", "update", sku, "--values", json.dumps(own_price("99.00"))).exit_code == 0

    shown = standard(sku, "--channel", REGION)

    assert shown["values"]["price"] == own_price("99.00")["price"]


def test_product_show_channel_leaves_out_the_values_of_other_channels(regional):
    shown = standard(single(0), "--channel", REGION)

    scopes = {entry["scope"] for entries in shown["values"].values() for entry in entries}
    assert scopes == {None, REGION}


def test_product_show_channel_with_completeness_lists_that_channel_only(regional):
    shown = standard(identifiers(VARIANTS, 1)[0], "--channel", REGION, "--completeness")

    assert {(c["scope"], c["locale"]) for c in shown["completenesses"]} == {(REGION, locale) for locale in CHANNELS["marketplace"]["locales"]}


def test_product_show_channel_of_an_unknown_channel_fails_with_one_line(regional):
    result = pim("product", "show", single(0), "--channel", "nope")

    assert_one_line_failure(result)
    assert result.stderr == "error: Channel 'nope' does not exist\n"
