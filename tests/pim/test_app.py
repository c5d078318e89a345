"""The Flask application: configuration, the product list page and the product page."""

from __future__ import annotations

import html
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from pim import db
from pim.app import create_app
from pim.catalog import media
from pim.catalog.services import create_product
from pim.demo import BRAND_LABELS, CHANNELS, load_demo

ROW = re.compile(r'<td><a href="/products/(?P<sku>[^"]+)">[^<]*</a></td>\s*<td>(?P<label>[^<]*)</td>\s*<td>(?P<family>[^<]*)</td>')


def one(data, locale=None, scope=None):
    return [{"locale": locale, "scope": scope, "data": data}]


def rows(response) -> list[dict[str, str]]:
    """Return the product rows of the list page: sku, label and family."""
    assert response.status_code == 200, response.text
    return [{k: html.unescape(v) for k, v in m.groupdict().items()} for m in ROW.finditer(response.text)]


def error_message(response) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
    return html.unescape(found.group(1)) if found else ""


# --- configuration --------------------------------------------------------------------------


@pytest.fixture
def restore_session_binding() -> Iterator[None]:
    """Give back the session binding and media folder that `create_app` takes over."""
    bind = db.session.session_factory.kw.get("bind")
    media_root = media.media_root()
    yield
    db.session.remove()
    db.session.configure(bind=bind)
    media.configure(media_root)


@pytest.fixture
def start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, restore_session_binding: None):
    """Start the application as `pim serve` would, on a new instance folder; return the starter."""
    for name in ("PIM_SECRET_KEY", "PIM_DATABASE_URL", "PIM_SQLITE_BUSY_TIMEOUT", "PIM_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIM_INSTANCE_PATH", str(tmp_path / "instance"))
    started = []

    def starter(test_config=None):
        app = create_app(test_config)
        started.append(app)
        return app

    yield starter
    for app in started:
        app.extensions["pim_engine"].dispose()


def test_first_start_creates_the_instance_folder_with_a_secret_key(start, tmp_path):
    app = start()

    key_file = tmp_path / "instance" / "secret_key"
    assert app.instance_path == str(tmp_path / "instance")
    assert re.fullmatch(r"[0-9a-f]{64}", key_file.read_text())
    assert app.config["SECRET_KEY"] == key_file.read_text()


def test_secret_key_file_is_readable_by_its_owner_only(start, tmp_path):
    start()

    mode = stat.S_IMODE((tmp_path / "instance" / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_next_start_reuses_the_secret_key(start):
    first = start().config["SECRET_KEY"]

    assert start().config["SECRET_KEY"] == first


def test_secret_key_from_the_environment_is_used_and_not_written(start, monkeypatch, tmp_path):
    monkeypatch.setenv("PIM_SECRET_KEY", "a-key-from-the-vault")

    app = start()

    assert app.config["SECRET_KEY"] == "a-key-from-the-vault"
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_database_defaults_to_sqlite_in_the_instance_folder(start, tmp_path):
    app = start()

    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'pim.sqlite3'}"


def test_pim_variables_override_the_defaults(start, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    monkeypatch.setenv("PIM_DATABASE_URL", url)
    monkeypatch.setenv("PIM_SQLITE_BUSY_TIMEOUT", "250")
    monkeypatch.setenv("PIM_LOG_LEVEL", "WARNING")

    app = start()

    assert (app.config["DATABASE_URL"], app.config["SQLITE_BUSY_TIMEOUT"], app.config["LOG_LEVEL"]) == (url, 250, "WARNING")
    assert app.extensions["pim_engine"].url.database == str(tmp_path / "elsewhere.sqlite3")


def test_instance_config_file_overrides_the_defaults(start, tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("SQLITE_BUSY_TIMEOUT = 500\n")

    assert start().config["SQLITE_BUSY_TIMEOUT"] == 500


def test_pim_variables_override_the_instance_config_file(start, monkeypatch, tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("SQLITE_BUSY_TIMEOUT = 500\n")
    monkeypatch.setenv("PIM_SQLITE_BUSY_TIMEOUT", "250")

    assert start().config["SQLITE_BUSY_TIMEOUT"] == 250


def test_test_config_overrides_pim_variables(start, monkeypatch):
    monkeypatch.setenv("PIM_SQLITE_BUSY_TIMEOUT", "250")

    assert start({"SQLITE_BUSY_TIMEOUT": 10}).config["SQLITE_BUSY_TIMEOUT"] == 10


# --- the product list page ------------------------------------------------------------------


@pytest.fixture
def catalogue(db_session, actor) -> None:
    """Thirty demo products of every kind plus headphones and bread made through the services."""
    load_demo(products=30)
    create_product(
        "HP_300",
        family="electronics",
        categories=["headphones"],
        values={
            "name": one("Aurora Headphones 300", locale="en_US") + one("Aurora Kopfhörer 300", locale="de_DE"),
            "brand": one("aurora"),
            "ean": one("4600999000013"),
            "warranty_months": one(24),
        },
        actor=actor,
    )
    create_product(
        "BREAD_RYE_500",
        family="grocery",
        categories=["bakery"],
        values={
            "name": one("Volga Rye Bread, 500 g", locale="en_US"),
            "brand": one("volga"),
            "net_content": one({"amount": 500, "unit": "GRAM"}),
        },
        actor=actor,
    )


@pytest.fixture
def client(app, catalogue):
    return app.test_client()


def test_product_list_shows_the_products_created_in_the_test(client):
    listed = rows(client.get("/"))

    assert len(listed) == 32
    assert {"HP_300", "BREAD_RYE_500"} <= {row["sku"] for row in listed}


def test_product_list_shows_the_number_of_matches(client):
    response = client.get("/")

    assert "<small>32</small>" in response.text


def test_product_list_shows_labels_and_families(client):
    listed = {row["sku"]: row for row in rows(client.get("/?locale=en_US"))}

    assert (listed["HP_300"]["label"], listed["HP_300"]["family"]) == ("Aurora Headphones 300", "electronics")
    assert (listed["BREAD_RYE_500"]["label"], listed["BREAD_RYE_500"]["family"]) == ("Volga Rye Bread, 500 g", "grocery")


def test_product_list_labels_follow_the_locale_asked_for(client):
    listed = {row["sku"]: row for row in rows(client.get("/?locale=de_DE"))}

    assert listed["HP_300"]["label"] == "Aurora Kopfhörer 300"


def test_product_list_label_falls_back_to_another_locale(client):
    listed = {row["sku"]: row for row in rows(client.get("/?locale=ru_RU"))}

    assert listed["BREAD_RYE_500"]["label"] == "Volga Rye Bread, 500 g"


def test_search_box_finds_a_product_by_words_of_its_label(client):
    listed = rows(client.get("/?q=aurora+headph"))

    assert [row["sku"] for row in listed] == ["HP_300"]


def test_search_box_narrows_the_demo_to_one_brand(client):
    everything = rows(client.get("/?locale=en_US"))
    brand = next(row["label"].split()[0] for row in everything if row["family"] == "shoes")
    assert brand in BRAND_LABELS.values()

    found = rows(client.get(f"/?locale=en_US&q={brand}"))

    assert {row["sku"] for row in found} == {row["sku"] for row in everything if brand in row["label"]}
    assert 0 < len(found) < len(everything)


def test_search_box_finds_a_product_by_its_identifier(client):
    assert [row["sku"] for row in rows(client.get("/?q=BREAD_RYE_500"))] == ["BREAD_RYE_500"]


def identifiers_where(filters):
    from pim.catalog.queries import ProductQuery, list_products

    return sorted(p.identifier for p in list_products(ProductQuery(filters=filters), limit=1000).items)


def test_family_filter_narrows_the_list_to_that_family(client):
    listed = rows(client.get("/?family=electronics"))

    assert {row["family"] for row in listed} == {"electronics"} and "HP_300" in {row["sku"] for row in listed}
    assert sorted(row["sku"] for row in listed) == identifiers_where({"family": [{"operator": "IN", "value": ["electronics"]}]})


def test_family_filter_keeps_every_product_of_the_family(client):
    listed = rows(client.get("/?family=shoes"))

    expected = identifiers_where({"family": [{"operator": "IN", "value": ["shoes"]}]})
    assert len(expected) > 1 and sorted(row["sku"] for row in listed) == expected


def test_family_select_offers_every_family_and_keeps_the_choice(client):
    response = client.get("/?family=grocery")

    for family in ("apparel", "electronics", "grocery", "shoes"):
        assert f'<option value="{family}"' in response.text
    assert '<option value="grocery" selected>' in response.text


def test_search_and_family_filter_combine(client):
    listed = rows(client.get("/?q=volga&family=grocery"))

    expected = identifiers_where({"search": [{"operator": "=", "value": "volga"}], "family": [{"operator": "IN", "value": ["grocery"]}]})
    assert "BREAD_RYE_500" in expected
    assert sorted(row["sku"] for row in listed) == expected
    assert all(row["family"] == "grocery" for row in listed)


def test_json_filter_narrows_the_list(client):
    stored = '{"categories": [{"operator": "IN CHILDREN", "value": ["grocery"]}]}'

    listed = rows(client.get(f"/?filter={quote(stored)}"))

    expected = identifiers_where({"categories": [{"operator": "IN CHILDREN", "value": ["grocery"]}]})
    assert "BREAD_RYE_500" in expected and sorted(row["sku"] for row in listed) == expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('{"family": [{"operator": "IN"', "not valid JSON"),
        ('["shoes"]', "must be an object"),
        ("42", "must be an object"),
        ('{"family": "shoes"}', "must be a list"),
        ('{"colour": [{"operator": "=", "value": "red"}]}', "'colour'"),
        ('{"family": [{"operator": "IN", "value": ["boats"]}]}', "'boats' does not exist"),
    ],
    ids=["truncated", "list", "number", "not_a_list", "unknown_field", "unknown_family"],
)
def test_bad_json_filter_shows_an_error_message(client, raw, words):
    response = client.get(f"/?filter={quote(raw)}")

    assert response.status_code == 200
    assert words in error_message(response)
    assert rows(response) == []


def test_bad_json_filter_keeps_what_was_typed_in_the_form(client):
    raw = '{"family": [{"operator": "IN"'

    response = client.get(f"/?filter={quote(raw)}")

    typed = re.search(r'name="filter" value="([^"]*)"', response.text).group(1)
    assert html.unescape(typed) == raw


def test_forged_page_cursor_shows_an_error_message(client):
    response = client.get("/?after=not-a-cursor")

    assert response.status_code == 200
    assert "page cursor is not valid" in error_message(response)


def test_unknown_sort_shows_an_error_message(client):
    response = client.get("/?sort=colour")

    assert response.status_code == 200
    assert "Cannot sort by 'colour'" in error_message(response)


# --- the product page -----------------------------------------------------------------------


def test_product_page_shows_its_values(client):
    response = client.get("/products/HP_300")

    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "<h1>HP_300</h1>" in text and "Family: electronics" in text
    assert "<td>name</td><td>de_DE</td><td></td><td>Aurora Kopfhörer 300</td>" in text
    assert "<td>warranty_months</td><td></td><td></td><td>24</td>" in text


def test_product_page_shows_completeness_with_missing_attributes(client):
    text = html.unescape(client.get("/products/HP_300").text)

    completeness = re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td><td>(\d+)%</td><td>([^<]*)</td></tr>", text)
    by_pair = {(scope, locale): (int(ratio), missing) for scope, locale, ratio, missing in completeness}
    assert set(by_pair) == {(channel, locale) for channel, spec in CHANNELS.items() for locale in spec["locales"]}
    ratio, missing = by_pair[("pos", "ru_RU")]
    assert ratio < 100 and missing == "name, price"


def test_product_page_of_a_variant_shows_inherited_values(client):
    variant = next(row["sku"] for row in rows(client.get("/?family=shoes")))

    text = html.unescape(client.get(f"/products/{variant}").text)

    assert "variant of" in text
    assert "<td>brand</td>" in text and "<td>size</td>" in text


def test_unknown_product_gives_404(client):
    response = client.get("/products/NOPE")

    assert response.status_code == 404
    assert html.unescape(response.text) == "Product 'NOPE' does not exist"


def test_unknown_product_page_escapes_the_identifier(client):
    response = client.get("/products/" + quote("<img src=x onerror=alert(1)>"))

    assert response.status_code == 404
    assert "<img" not in response.text
