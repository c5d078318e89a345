"""A realistic synthetic catalogue: shoes with colour and size variants, apparel, electronics with
metric attributes, groceries sold by weight or volume; three locales, four channels, prices
that differ per channel, valid EAN-13 codes, generated images, associations, and a share of
products incomplete somewhere, as real catalogues are.

Everything is written through the catalogue services, like any other entry point.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select

from pim import db
from pim.actor import Actor, Source
from pim.catalog.categories import create_category
from pim.catalog.media import store_media
from pim.catalog.models import ProductModel
from pim.catalog.services import UPSERT_BATCH_SIZE, ProductInput, ProductModelInput, UpsertReport, save_product_models, upsert_products
from pim.errors import Invalid
from pim.structure import services as structure
from pim.structure.models import Attribute, AttributeType
from pim.structure.snapshot import bump_revision

LOCALES = ("en_US", "de_DE", "ru_RU")
CURRENCIES = ("EUR", "USD", "RUB")
CHANNELS = {
    "ecommerce": {"locales": ["en_US", "de_DE", "ru_RU"], "currencies": ["EUR", "USD"], "labels": {"en_US": "Web shop"}},
    "marketplace": {"locales": ["ru_RU", "en_US"], "currencies": ["RUB"], "labels": {"en_US": "Marketplaces"}},
    "print": {"locales": ["en_US", "de_DE"], "currencies": ["EUR"], "labels": {"en_US": "Print catalogue"}},
    "pos": {"locales": ["ru_RU"], "currencies": ["RUB"], "labels": {"en_US": "Stores"}},
}
# Price of one euro in each currency, and each channel's own pricing on top of the base price.
RATES = {"EUR": 1.0, "USD": 1.08, "RUB": 98.0}
CHANNEL_MARKUP = {"ecommerce": 0.95, "marketplace": 1.0, "print": 1.0, "pos": 1.05}
# VAT rates in percent, as Russian tills charge them: the standard rate and the reduced food rate
VAT_STANDARD, VAT_FOOD = "20", "10"

BRANDS = ["nordlys", "aurora", "kestrel", "volga", "berglund", "sierra", "mistral", "taiga"]
BRAND_LABELS = {
    "nordlys": "Nordlys",
    "aurora": "Aurora",
    "kestrel": "Kestrel",
    "volga": "Volga",
    "berglund": "Berglund",
    "sierra": "Sierra",
    "mistral": "Mistral",
    "taiga": "Taiga",
}
COLORS = {
    "black": ("Black", "Schwarz", "Чёрный", (30, 30, 34)),
    "white": ("White", "Weiß", "Белый", (236, 236, 232)),
    "red": ("Red", "Rot", "Красный", (196, 40, 52)),
    "blue": ("Blue", "Blau", "Синий", (40, 82, 170)),
    "green": ("Green", "Grün", "Зелёный", (46, 130, 80)),
    "grey": ("Grey", "Grau", "Серый", (128, 128, 132)),
    "brown": ("Brown", "Braun", "Коричневый", (120, 80, 48)),
    "beige": ("Beige", "Beige", "Бежевый", (214, 196, 160)),
}
SHOE_SIZES = [str(s) for s in range(36, 47)]
APPAREL_SIZES = ["xs", "s", "m", "l", "xl", "xxl"]
SHOE_STYLES = [
    ("Trail Runner", "Trailläufer", "Кроссовки для трейла"),
    ("City Sneaker", "Stadtsneaker", "Городские кеды"),
    ("Chelsea Boot", "Chelsea-Stiefel", "Ботинки челси"),
    ("Loafer", "Loafer", "Лоферы"),
    ("Hiking Boot", "Wanderstiefel", "Треккинговые ботинки"),
    ("Sandal", "Sandale", "Сандалии"),
]
APPAREL_STYLES = [
    ("Merino Sweater", "Merinopullover", "Свитер из мериноса"),
    ("Rain Jacket", "Regenjacke", "Дождевик"),
    ("Chino Trousers", "Chinohose", "Брюки чинос"),
    ("Linen Shirt", "Leinenhemd", "Льняная рубашка"),
    ("Down Vest", "Daunenweste", "Пуховый жилет"),
]
ELECTRONICS = [
    ("Smart TV", "Smart-TV", "Смарт-телевизор", "tv"),
    ("Soundbar", "Soundbar", "Саундбар", "audio"),
    ("Headphones", "Kopfhörer", "Наушники", "audio"),
    ("Smartphone", "Smartphone", "Смартфон", "phones"),
    ("Tablet", "Tablet", "Планшет", "phones"),
]
GROCERIES = [
    ("Alpine Milk", "Alpenmilch", "Альпийское молоко", "dairy", "volume"),
    ("Greek Yoghurt", "Griechischer Joghurt", "Греческий йогурт", "dairy", "weight"),
    ("Rye Bread", "Roggenbrot", "Ржаной хлеб", "bakery", "weight"),
    ("Apple Juice", "Apfelsaft", "Яблочный сок", "beverages", "volume"),
    ("Mineral Water", "Mineralwasser", "Минеральная вода", "beverages", "volume"),
    ("Buckwheat", "Buchweizen", "Гречка", "pantry", "weight"),
    ("Olive Oil", "Olivenöl", "Оливковое масло", "pantry", "volume"),
    ("Coffee Beans", "Kaffeebohnen", "Кофе в зёрнах", "pantry", "weight"),
]
# short till texts of the groceries (a till prints about 30 characters)
TILL_NAMES = {
    "Alpine Milk": "Молоко альп.",
    "Greek Yoghurt": "Йогурт греч.",
    "Rye Bread": "Хлеб ржаной",
    "Apple Juice": "Сок яблочный",
    "Mineral Water": "Вода минер.",
    "Buckwheat": "Гречка",
    "Olive Oil": "Масло олив.",
    "Coffee Beans": "Кофе зерно",
}
# groceries that stores also sell loose, weighed at the till (in-store EAN-13 codes, a price per kg)
LOOSE = {"Buckwheat", "Coffee Beans"}
SALES_UNITS = {"piece": ("Piece", "Stück", "шт"), "kg": ("Kilogram", "Kilogramm", "кг"), "l": ("Litre", "Liter", "л"), "m": ("Metre", "Meter", "м")}

MATERIALS = [
    ("leather", "Leder", "кожа"),
    ("cotton", "Baumwolle", "хлопок"),
    ("wool", "Wolle", "шерсть"),
    ("recycled polyester", "recyceltes Polyester", "переработанный полиэстер"),
    ("suede", "Wildleder", "замша"),
]
ORIGINS = ["de", "it", "pt", "ru", "tr", "cn", "vn", "us"]
FEATURES = ["waterproof", "vegan", "recycled", "bluetooth", "energy_saving", "organic", "lightweight"]
SENTENCES = {
    "en_US": [
        "Made to last through every season and every city street.",
        "The {material} upper is finished by hand and softens with wear.",
        "Designed in our studio and tested by people who walk a lot.",
        "A cushioned insole keeps you comfortable from morning to night.",
        "Pairs with everything from denim to tailoring.",
        "Packed in a recycled box with a spare set of laces.",
    ],
    "de_DE": [
        "Gemacht für jede Jahreszeit und jede Straße der Stadt.",
        "Das Obermaterial aus {material} wird von Hand veredelt.",
        "In unserem Studio entworfen und von Vielgehern getestet.",
        "Eine gepolsterte Innensohle sorgt den ganzen Tag für Komfort.",
        "Passt zu Jeans ebenso wie zum Anzug.",
        "Verpackt in einem recycelten Karton mit Ersatzschnürsenkeln.",
    ],
    "ru_RU": [
        "Создано для любого сезона и любой городской улицы.",
        "Верх из материала «{material}» обработан вручную.",
        "Разработано в нашей студии и проверено теми, кто много ходит.",
        "Мягкая стелька дарит комфорт с утра до вечера.",
        "Сочетается и с джинсами, и с костюмом.",
        "Упаковано в переработанную коробку с запасными шнурками.",
    ],
}
COLOR_INDEX = {"en_US": 0, "de_DE": 1, "ru_RU": 2}


def _package(length: int, width: int, height: int) -> dict[str, Any]:
    """Return the packed dimensions of a product in centimetres, as marketplaces ask for them."""
    return {
        "package_length": _one({"amount": length, "unit": "CENTIMETER"}),
        "package_width": _one({"amount": width, "unit": "CENTIMETER"}),
        "package_height": _one({"amount": height, "unit": "CENTIMETER"}),
    }


def ean13(number: int) -> str:
    """Return a valid EAN-13 code: a 12-digit body (prefix 460, a Russian GS1 range) and its check digit."""
    body = f"460{number:09d}"[-12:]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def install_demo_structure() -> None:
    """Create the demo's locales, currencies, attributes, families, variants, categories and channels."""
    with db.transaction():
        if db.session.scalar(select(Attribute.id).where(Attribute.code == "sku")) is not None:
            return
        structure.install_standard_measurements()
        for currency in CURRENCIES:
            structure.ensure_currency(currency)
        _install_categories()
        for code, spec in CHANNELS.items():
            structure.create_channel(code, category_tree="master", **spec)
        _install_attributes()
        _install_families()
        for code, labels in (("X_SELL", "Cross sell"), ("UPSELL", "Upsell"), ("SUBSTITUTION", "Substitution")):
            structure.create_association_type(code, labels={"en_US": labels})
        structure.create_association_type("PACK", labels={"en_US": "Pack"}, is_quantified=True)
        bump_revision()


CATEGORY_TREE = {
    "footwear": {"men_shoes": ["men_sneakers", "men_boots", "men_formal"], "women_shoes": ["women_sneakers", "women_boots", "women_sandals"], "kids_shoes": []},
    "apparel": {"tops": ["sweaters", "shirts"], "bottoms": [], "outerwear": ["jackets", "vests"]},
    "electronics": {"tv": [], "audio": ["headphones", "speakers"], "phones": []},
    "grocery": {"dairy": [], "bakery": [], "beverages": [], "pantry": []},
}


# Category names in the demo's other languages, so a Russian or German catalogue has its own headings.
CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "footwear": ("Schuhe", "Обувь"),
    "men_shoes": ("Herrenschuhe", "Мужская обувь"),
    "men_sneakers": ("Herren-Sneaker", "Мужские кроссовки"),
    "men_boots": ("Herrenstiefel", "Мужские ботинки"),
    "men_formal": ("Herren-Business-Schuhe", "Мужские туфли"),
    "women_shoes": ("Damenschuhe", "Женская обувь"),
    "women_sneakers": ("Damen-Sneaker", "Женские кроссовки"),
    "women_boots": ("Damenstiefel", "Женские сапоги"),
    "women_sandals": ("Damensandalen", "Женские сандалии"),
    "kids_shoes": ("Kinderschuhe", "Детская обувь"),
    "apparel": ("Bekleidung", "Одежда"),
    "tops": ("Oberteile", "Верх"),
    "sweaters": ("Pullover", "Свитеры"),
    "shirts": ("Hemden", "Рубашки"),
    "bottoms": ("Hosen und Röcke", "Брюки и юбки"),
    "outerwear": ("Oberbekleidung", "Верхняя одежда"),
    "jackets": ("Jacken", "Куртки"),
    "vests": ("Westen", "Жилеты"),
    "electronics": ("Elektronik", "Электроника"),
    "tv": ("Fernseher", "Телевизоры"),
    "audio": ("Audio", "Аудиотехника"),
    "headphones": ("Kopfhörer", "Наушники"),
    "speakers": ("Lautsprecher", "Колонки"),
    "phones": ("Telefone", "Телефоны"),
    "grocery": ("Lebensmittel", "Продукты"),
    "dairy": ("Milchprodukte", "Молочные продукты"),
    "bakery": ("Backwaren", "Выпечка"),
    "beverages": ("Getränke", "Напитки"),
    "pantry": ("Vorratsschrank", "Бакалея"),
    "black_friday": ("Black Friday", "Чёрная пятница"),
    "summer_sale": ("Sommerschlussverkauf", "Летняя распродажа"),
    "new_collection": ("Neue Kollektion", "Новая коллекция"),
}


def _label(code: str) -> dict[str, str]:
    labels = {"en_US": code.replace("_", " ").capitalize()}
    if code in CATEGORY_NAMES:
        labels["de_DE"], labels["ru_RU"] = CATEGORY_NAMES[code]
    return labels


def _install_categories() -> None:
    create_category("master", labels={"en_US": "Master catalogue", "de_DE": "Hauptkatalog", "ru_RU": "Основной каталог"})
    for order, (department, children) in enumerate(CATEGORY_TREE.items()):
        create_category(department, parent="master", labels=_label(department), sort_order=order)
        for child_order, (child, grandchildren) in enumerate(children.items()):
            create_category(child, parent=department, labels=_label(child), sort_order=child_order)
            for leaf_order, leaf in enumerate(grandchildren):
                create_category(leaf, parent=child, labels=_label(leaf), sort_order=leaf_order)
    create_category("seasonal", labels={"en_US": "Seasonal campaigns", "de_DE": "Saisonale Aktionen", "ru_RU": "Сезонные акции"})
    for order, code in enumerate(("black_friday", "summer_sale", "new_collection")):
        create_category(code, parent="seasonal", labels=_label(code), sort_order=order)


def _install_attributes() -> None:
    create = structure.create_attribute
    create("sku", type=AttributeType.IDENTIFIER, group="general", labels={"en_US": "SKU", "de_DE": "SKU", "ru_RU": "Артикул"})
    create(
        "name",
        type=AttributeType.TEXT,
        group="marketing",
        is_localizable=True,
        max_characters=150,
        labels={"en_US": "Name", "de_DE": "Name", "ru_RU": "Название"},
    )
    create(
        "description",
        type=AttributeType.TEXTAREA,
        group="marketing",
        is_localizable=True,
        is_scopable=True,
        max_characters=5000,
        is_wysiwyg=True,
        labels={"en_US": "Description", "de_DE": "Beschreibung", "ru_RU": "Описание"},
    )
    create(
        "price",
        type=AttributeType.PRICE_COLLECTION,
        group="prices",
        is_scopable=True,
        is_decimals_allowed=True,
        labels={"en_US": "Price", "de_DE": "Preis", "ru_RU": "Цена"},
    )
    create(
        "ean",
        type=AttributeType.TEXT,
        group="general",
        is_unique=True,
        validation_regexp=r"^\d{13}$",
        labels={"en_US": "EAN", "de_DE": "EAN", "ru_RU": "Штрихкод EAN"},
    )
    create("brand", type=AttributeType.SIMPLE_SELECT, group="marketing", labels={"en_US": "Brand", "de_DE": "Marke", "ru_RU": "Бренд"})
    create("color", type=AttributeType.SIMPLE_SELECT, group="marketing", labels={"en_US": "Colour", "de_DE": "Farbe", "ru_RU": "Цвет"})
    create("size", type=AttributeType.SIMPLE_SELECT, group="marketing", labels={"en_US": "Size", "de_DE": "Größe", "ru_RU": "Размер"})
    create("material", type=AttributeType.TEXT, group="marketing", is_localizable=True, labels={"en_US": "Material", "de_DE": "Material", "ru_RU": "Материал"})
    create(
        "keywords",
        type=AttributeType.TEXT,
        group="marketing",
        is_localizable=True,
        labels={"en_US": "Keywords", "de_DE": "Schlagwörter", "ru_RU": "Ключевые слова"},
    )
    create(
        "country_of_origin",
        type=AttributeType.SIMPLE_SELECT,
        group="general",
        labels={"en_US": "Country of origin", "de_DE": "Herkunftsland", "ru_RU": "Страна производства"},
    )
    create("gender", type=AttributeType.SIMPLE_SELECT, group="marketing", labels={"en_US": "Gender", "de_DE": "Geschlecht", "ru_RU": "Пол"})
    create("features", type=AttributeType.MULTI_SELECT, group="marketing", labels={"en_US": "Features", "de_DE": "Merkmale", "ru_RU": "Особенности"})
    create(
        "weight",
        type=AttributeType.METRIC,
        group="technical",
        metric_family="Weight",
        default_metric_unit="KILOGRAM",
        is_negative_allowed=False,
        labels={"en_US": "Weight", "de_DE": "Gewicht", "ru_RU": "Вес"},
    )
    create(
        "net_content",
        type=AttributeType.METRIC,
        group="technical",
        metric_family="Weight",
        default_metric_unit="GRAM",
        is_negative_allowed=False,
        labels={"en_US": "Net weight", "de_DE": "Nettogewicht", "ru_RU": "Масса нетто"},
    )
    create(
        "net_volume",
        type=AttributeType.METRIC,
        group="technical",
        metric_family="Volume",
        default_metric_unit="MILLILITER",
        is_negative_allowed=False,
        labels={"en_US": "Net volume", "de_DE": "Nettovolumen", "ru_RU": "Объём"},
    )
    create(
        "screen_size",
        type=AttributeType.METRIC,
        group="technical",
        metric_family="Length",
        default_metric_unit="INCH",
        is_negative_allowed=False,
        labels={"en_US": "Screen size", "de_DE": "Bildschirmgröße", "ru_RU": "Диагональ"},
    )
    for dimension, labels in (
        ("package_length", ("Package length", "Verpackungslänge", "Длина упаковки")),
        ("package_width", ("Package width", "Verpackungsbreite", "Ширина упаковки")),
        ("package_height", ("Package height", "Verpackungshöhe", "Высота упаковки")),
    ):
        create(
            dimension,
            type=AttributeType.METRIC,
            group="technical",
            metric_family="Length",
            default_metric_unit="CENTIMETER",
            is_negative_allowed=False,
            labels=dict(zip(("en_US", "de_DE", "ru_RU"), labels, strict=True)),
        )
    create(
        "warranty_months",
        type=AttributeType.NUMBER,
        group="technical",
        is_decimals_allowed=False,
        is_negative_allowed=False,
        number_max="120",
        labels={"en_US": "Warranty (months)", "de_DE": "Garantie (Monate)", "ru_RU": "Гарантия (мес.)"},
    )
    create(
        "release_date",
        type=AttributeType.DATE,
        group="general",
        date_min="2000-01-01",
        labels={"en_US": "Release date", "de_DE": "Erscheinungsdatum", "ru_RU": "Дата выхода"},
    )
    create("is_organic", type=AttributeType.BOOLEAN, group="technical", labels={"en_US": "Organic", "de_DE": "Bio", "ru_RU": "Органический"})
    create(
        "sales_unit",
        type=AttributeType.SIMPLE_SELECT,
        group="technical",
        labels={"en_US": "Unit of sale", "de_DE": "Verkaufseinheit", "ru_RU": "Единица продажи"},
    )
    create("sold_by_weight", type=AttributeType.BOOLEAN, group="technical", labels={"en_US": "Sold by weight", "de_DE": "Lose Ware", "ru_RU": "Весовой товар"})
    create(
        "plu",
        type=AttributeType.TEXT,
        group="technical",
        max_characters=5,
        validation_regexp="^[0-9]{1,5}$",
        labels={"en_US": "Scale item code (PLU)", "de_DE": "Waagen-PLU", "ru_RU": "Код весов (PLU)"},
    )
    create(
        "till_name",
        type=AttributeType.TEXT,
        group="marketing",
        max_characters=30,
        labels={"en_US": "Till text", "de_DE": "Kassentext", "ru_RU": "Название для кассы"},
    )
    create(
        "vat_rate",
        type=AttributeType.NUMBER,
        group="technical",
        is_decimals_allowed=True,
        is_negative_allowed=False,
        number_max="100",
        labels={"en_US": "VAT rate (%)", "de_DE": "MwSt.-Satz (%)", "ru_RU": "Ставка НДС (%)"},
    )
    create(
        "image",
        type=AttributeType.IMAGE,
        group="media",
        allowed_extensions=["jpg", "jpeg", "png", "webp"],
        max_file_size=10 * 1024 * 1024,
        labels={"en_US": "Image", "de_DE": "Bild", "ru_RU": "Изображение"},
    )
    create(
        "datasheet",
        type=AttributeType.FILE,
        group="media",
        allowed_extensions=["pdf"],
        labels={"en_US": "Datasheet", "de_DE": "Datenblatt", "ru_RU": "Паспорт"},
    )
    structure.create_attribute_options("brand", [{"code": b, "labels": {"en_US": BRAND_LABELS[b]}} for b in BRANDS])
    structure.create_attribute_options("color", [{"code": c, "labels": {"en_US": v[0], "de_DE": v[1], "ru_RU": v[2]}} for c, v in COLORS.items()])
    structure.create_attribute_options(
        "size", [{"code": f"eu_{s}", "labels": {"en_US": f"EU {s}"}} for s in SHOE_SIZES] + [{"code": s, "labels": {"en_US": s.upper()}} for s in APPAREL_SIZES]
    )
    structure.create_attribute_options("country_of_origin", [{"code": c, "labels": {"en_US": c.upper()}} for c in ORIGINS])
    structure.create_attribute_options("gender", [{"code": g, "labels": {"en_US": g.capitalize()}} for g in ("men", "women", "unisex", "kids")])
    structure.create_attribute_options("sales_unit", [{"code": c, "labels": {"en_US": v[0], "de_DE": v[1], "ru_RU": v[2]}} for c, v in SALES_UNITS.items()])
    structure.create_attribute_options("features", [{"code": f, "labels": {"en_US": f.replace("_", " ").capitalize()}} for f in FEATURES])


def _install_families() -> None:
    common = [
        "sku",
        "name",
        "description",
        "price",
        "ean",
        "brand",
        "image",
        "release_date",
        "features",
        "keywords",
        "country_of_origin",
        "package_length",
        "package_width",
        "package_height",
        "vat_rate",
    ]
    requirements = {
        "ecommerce": ["name", "description", "price", "image", "brand"],
        "marketplace": ["name", "description", "price", "ean", "brand", "image"],
        "print": ["name", "description", "image", "price"],
        "pos": ["name", "price", "ean"],
    }
    structure.create_family(
        "shoes",
        labels={"en_US": "Shoes", "de_DE": "Schuhe", "ru_RU": "Обувь"},
        attributes=[*common, "color", "size", "material", "gender", "weight"],
        attribute_as_label="name",
        attribute_as_image="image",
        requirements={**requirements, "ecommerce": [*requirements["ecommerce"], "color", "size"]},
    )
    structure.create_family(
        "apparel",
        labels={"en_US": "Apparel", "de_DE": "Bekleidung", "ru_RU": "Одежда"},
        attributes=[*common, "color", "size", "material", "gender", "weight"],
        attribute_as_label="name",
        attribute_as_image="image",
        requirements={**requirements, "ecommerce": [*requirements["ecommerce"], "color", "size", "material"]},
    )
    structure.create_family(
        "electronics",
        labels={"en_US": "Electronics", "de_DE": "Elektronik", "ru_RU": "Электроника"},
        attributes=[*common, "color", "weight", "screen_size", "warranty_months", "datasheet"],
        attribute_as_label="name",
        attribute_as_image="image",
        requirements={**requirements, "ecommerce": [*requirements["ecommerce"], "weight", "warranty_months"]},
    )
    structure.create_family(
        "grocery",
        labels={"en_US": "Grocery", "de_DE": "Lebensmittel", "ru_RU": "Продукты"},
        attributes=[*common, "net_content", "net_volume", "is_organic", "weight", "sales_unit", "sold_by_weight", "plu", "till_name"],
        attribute_as_label="name",
        attribute_as_image="image",
        # goods weighed at the till have no EAN of their own: the till file gives them in-store codes
        requirements={**requirements, "pos": ["name", "price", "vat_rate"]},
    )
    structure.create_family_variant(
        "shoes_color_size",
        family="shoes",
        labels={"en_US": "Shoes by colour and size"},
        levels=[{"axes": ["color"], "attributes": ["image", "material"]}, {"axes": ["size"], "attributes": ["sku", "ean", "weight", "price"]}],
    )
    structure.create_family_variant(
        "apparel_size", family="apparel", labels={"en_US": "Apparel by size"}, levels=[{"axes": ["size"], "attributes": ["sku", "ean", "price"]}]
    )


# --- images --------------------------------------------------------------------------------


def _make_images(rng: random.Random) -> dict[str, str]:
    """Draw one product picture per colour and store it as a media file; return keys by colour."""
    from PIL import Image, ImageDraw

    keys = {}
    for color, (*_names, rgb) in COLORS.items():
        image = Image.new("RGB", (1200, 1200), (246, 246, 244))
        draw = ImageDraw.Draw(image)
        draw.rounded_rectangle((150, 500, 1050, 825), radius=125, fill=rgb)
        draw.ellipse((225, 750, 425, 950), fill=(40, 40, 40))
        draw.ellipse((775, 750, 975, 950), fill=(40, 40, 40))
        draw.rectangle((150, 375, 625, 575), fill=tuple(min(255, c + 40) for c in rgb))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        keys[color] = store_media(buffer.getvalue(), f"demo_{color}.jpg").key
    return keys


# --- products ------------------------------------------------------------------------------


def _prices(base: float, rng: random.Random, *, missing_channel: str | None = None) -> list[dict[str, Any]]:
    values = []
    for channel, spec in CHANNELS.items():
        if channel == missing_channel:
            continue
        amounts = []
        for currency in spec["currencies"]:
            amount = base * CHANNEL_MARKUP[channel] * RATES[currency]
            amount = round(amount) - 0.01 if currency != "RUB" else float(round(amount, -1))
            amounts.append({"amount": f"{max(amount, 0.5):.2f}", "currency": currency})
        values.append({"locale": None, "scope": channel, "data": amounts})
    return values


def _descriptions(words: tuple[str, str, str], material: tuple[str, str, str], rng: random.Random, skip: set[str]) -> list[dict[str, Any]]:
    values = []
    for channel, spec in CHANNELS.items():
        for locale in spec["locales"]:
            if (channel, locale) in skip or locale in skip:
                continue
            sentences = rng.sample(SENTENCES[locale], 4)
            text = f"<p>{words[COLOR_INDEX[locale]]}. " + " ".join(sentences).replace("{material}", material[COLOR_INDEX[locale]]) + "</p>"
            if channel == "print":
                text = text[:400]
            values.append({"locale": locale, "scope": channel, "data": text})
    return values


def _localized(texts: tuple[str, str, str], skip: set[str] = frozenset()) -> list[dict[str, Any]]:  # type: ignore[assignment]
    return [{"locale": loc, "scope": None, "data": texts[i]} for i, loc in enumerate(LOCALES) if loc not in skip]


def _one(data: Any) -> list[dict[str, Any]]:
    return [{"locale": None, "scope": None, "data": data}]


def _keywords(names: tuple[str, str, str], extra: str) -> list[dict[str, Any]]:
    return _localized(tuple(", ".join(dict.fromkeys(w.strip(",").lower() for w in f"{name} {extra}".split() if len(w) > 2)) for name in names))


class DemoGenerator:
    """Generate the demo products (and the product models of their variants) deterministically."""

    def __init__(self, products: int, seed: int = 42, images: dict[str, str] | None = None, id_offset: int = 0):
        self.count = products
        self.rng = random.Random(seed)
        self.images = images or {}
        self.serial = id_offset
        self.models: list[ProductModelInput] = []
        self.recent: list[str] = []

    def _ean(self) -> str:
        self.serial += 1
        return ean13(self.serial)

    def _incomplete(self) -> set[str]:
        """Pick what this product lacks: most products are complete everywhere, some are not."""
        roll = self.rng.random()
        if roll < 0.10:
            return {"de_DE"}
        if roll < 0.14:
            return {("marketplace", "ru_RU")}
        if roll < 0.17:
            return {"image"}
        return set()

    def model_batches(self, size: int) -> Iterator[list[ProductModelInput]]:
        """Yield the product models of the products, in batches of about `size`, from a pass that drops the products."""
        for _item in self.products():
            if len(self.models) >= size:
                yield self.models
                self.models = []
        if self.models:
            yield self.models
            self.models = []

    def products(self) -> Iterator[ProductInput]:
        """Yield product inputs; product models they need are queued in `models` before them."""
        made = 0
        kinds = ["shoes", "electronics", "apparel", "grocery", "shoes"]
        # a small catalogue still shows every kind: one model yields at most a 20th of it
        most = max(3, self.count // 20)
        turn = 0
        while made < self.count:
            kind = kinds[turn % len(kinds)]
            turn += 1
            if kind == "shoes":
                items = self._shoes(min(most, self.count - made))
            elif kind == "apparel":
                items = self._apparel(min(most, self.count - made))
            elif kind == "electronics":
                items = [self._electronics()]
            else:
                items = [self._grocery()]
            for item in items:
                made += 1
                if self.rng.random() < 0.15 and self.recent:
                    item.associations = {"X_SELL": {"products": self.rng.sample(self.recent, min(3, len(self.recent)))}}
                self.recent.append(item.identifier)
                if len(self.recent) > 200:
                    self.recent = self.recent[-100:]
                yield item

    def _shoes(self, room: int) -> list[ProductInput]:
        rng = self.rng
        number = self.serial + 1
        style = rng.choice(SHOE_STYLES)
        brand = rng.choice(BRANDS)
        material = rng.choice(MATERIALS)
        gender = rng.choice(["men", "women", "unisex"])
        root = f"SHOE{number:07d}"
        missing = self._incomplete()
        names = tuple(f"{BRAND_LABELS[brand]} {style[i]}" for i in range(3))
        category = rng.choice(
            {
                "men": ["men_sneakers", "men_boots", "men_formal"],
                "women": ["women_sneakers", "women_boots", "women_sandals"],
                "unisex": ["men_sneakers", "women_sneakers"],
            }[gender]
        )
        self.models.append(
            ProductModelInput(
                code=root,
                family_variant="shoes_color_size",
                categories=[category] + (["new_collection"] if rng.random() < 0.1 else []),
                values={
                    "name": _localized(names, missing),
                    "description": _descriptions(names, material, rng, missing),
                    "brand": _one(brand),
                    "vat_rate": _one(VAT_STANDARD),
                    "gender": _one(gender),
                    "release_date": _one(f"20{rng.randint(18, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"),
                    "features": _one(rng.sample(["waterproof", "vegan", "recycled", "lightweight"], rng.randint(0, 2))),
                    "keywords": _keywords(names, gender),
                    "country_of_origin": _one(rng.choice(ORIGINS)),
                    **_package(rng.randint(30, 34), rng.randint(19, 23), rng.randint(11, 14)),
                },
            )
        )
        items = []
        base = rng.choice([59, 79, 89, 99, 119, 149, 189])
        sizes = SHOE_SIZES[rng.randint(0, 3) : rng.randint(7, 11)]
        for color in rng.sample(list(COLORS), rng.randint(1, 3)):
            sub = f"{root}_{color}"
            sub_values: dict[str, Any] = {"color": _one(color), "material": _localized(material)}
            if "image" not in missing and self.images:
                sub_values["image"] = _one(self.images[color])
            self.models.append(ProductModelInput(code=sub, parent=root, values=sub_values))
            for size in sizes:
                if len(items) >= room:
                    return items
                items.append(
                    ProductInput(
                        identifier=f"{sub.upper()}_{size}",
                        parent=sub,
                        values={
                            "size": _one(f"eu_{size}"),
                            "ean": _one(self._ean()),
                            "weight": _one({"amount": f"{0.6 + int(size) * 0.02:.2f}", "unit": "KILOGRAM"}),
                            "price": _prices(base, rng),
                        },
                    )
                )
        return items

    def _apparel(self, room: int) -> list[ProductInput]:
        rng = self.rng
        number = self.serial + 1
        style = rng.choice(APPAREL_STYLES)
        brand = rng.choice(BRANDS)
        color = rng.choice(list(COLORS))
        material = rng.choice(MATERIALS[:4])
        missing = self._incomplete()
        code = f"APP{number:07d}"
        names = tuple(f"{BRAND_LABELS[brand]} {style[i]}, {COLORS[color][i].lower()}" for i in range(3))
        values: dict[str, Any] = {
            "name": _localized(names, missing),
            "description": _descriptions(names, material, rng, missing),
            "brand": _one(brand),
            "vat_rate": _one(VAT_STANDARD),
            "color": _one(color),
            "material": _localized(material),
            "gender": _one(rng.choice(["men", "women", "unisex"])),
            "keywords": _keywords(names, color),
            "country_of_origin": _one(rng.choice(ORIGINS)),
            "weight": _one({"amount": f"{rng.uniform(0.25, 1.4):.2f}", "unit": "KILOGRAM"}),
            **_package(rng.randint(30, 40), rng.randint(22, 30), rng.randint(3, 9)),
        }
        if "image" not in missing and self.images:
            values["image"] = _one(self.images[color])
        category = rng.choice(["sweaters", "shirts", "bottoms", "jackets", "vests"])
        self.models.append(
            ProductModelInput(code=code, family_variant="apparel_size", values=values, categories=[category] + (["summer_sale"] if rng.random() < 0.1 else []))
        )
        base = rng.choice([29, 39, 49, 69, 89, 129])
        items = []
        for size in APPAREL_SIZES[rng.randint(0, 1) : rng.randint(4, 6)]:
            if len(items) >= room:
                break
            items.append(
                ProductInput(
                    identifier=f"{code}_{size.upper()}", parent=code, values={"size": _one(size), "ean": _one(self._ean()), "price": _prices(base, rng)}
                )
            )
        return items

    def _electronics(self) -> ProductInput:
        rng = self.rng
        name, name_de, name_ru, category = rng.choice(ELECTRONICS)
        brand = rng.choice(BRANDS)
        model_number = rng.randint(100, 999)
        names = (
            f"{BRAND_LABELS[brand]} {name} {model_number}",
            f"{BRAND_LABELS[brand]} {name_de} {model_number}",
            f"{name_ru} {BRAND_LABELS[brand]} {model_number}",
        )
        missing = self._incomplete()
        color = rng.choice(["black", "white", "grey"])
        values: dict[str, Any] = {
            "name": _localized(names, missing),
            "description": _descriptions(names, ("aluminium", "Aluminium", "алюминий"), rng, missing),
            "brand": _one(brand),
            "vat_rate": _one(VAT_STANDARD),
            "color": _one(color),
            "ean": _one(self._ean()),
            "weight": _one({"amount": f"{rng.uniform(0.15, 18):.2f}", "unit": "KILOGRAM"}),
            "warranty_months": _one(rng.choice([12, 24, 36])),
            "price": _prices(rng.choice([49, 99, 199, 399, 799, 1299]), rng, missing_channel="pos" if rng.random() < 0.05 else None),
            "release_date": _one(f"20{rng.randint(19, 26)}-{rng.randint(1, 12):02d}-01"),
            "features": _one(rng.sample(["bluetooth", "energy_saving", "lightweight"], rng.randint(0, 2))),
            "keywords": _keywords(names, category),
            "country_of_origin": _one(rng.choice(ORIGINS)),
            **_package(*{"tv": (130, 80, 15), "audio": (30, 25, 12), "phones": (20, 12, 6)}[category]),
        }
        if category == "tv":
            values["screen_size"] = _one({"amount": rng.choice([43, 50, 55, 65, 75]), "unit": "INCH"})
        if "image" not in missing and self.images:
            values["image"] = _one(self.images[color])
        leaf = {"tv": "tv", "audio": rng.choice(["headphones", "speakers"]), "phones": "phones"}[category]
        categories = [leaf] + (["black_friday"] if rng.random() < 0.2 else [])
        return ProductInput(identifier=f"EL{self.serial + 1:08d}", family="electronics", categories=categories, values=values)

    def _grocery(self) -> ProductInput:
        rng = self.rng
        name, name_de, name_ru, category, measure = rng.choice(GROCERIES)
        brand = rng.choice(BRANDS)
        if measure == "weight":
            amount = rng.choice([250, 400, 500, 750, 1000])
            content = {"net_content": _one({"amount": amount, "unit": "GRAM"})}
            suffix = f"{amount} g"
        else:
            amount = rng.choice([0.33, 0.5, 1, 1.5])
            content = {"net_volume": _one({"amount": amount, "unit": "LITER"})}
            suffix = f"{amount:g} l"
        names = (
            f"{BRAND_LABELS[brand]} {name}, {suffix}",
            f"{BRAND_LABELS[brand]} {name_de}, {suffix}",
            f"{name_ru} {BRAND_LABELS[brand]}, {suffix.replace('g', 'г').replace('l', 'л')}",
        )
        missing = self._incomplete()
        values: dict[str, Any] = {
            "name": _localized(names, missing),
            "description": _descriptions(names, ("natural", "natürlich", "натуральный"), rng, missing),
            "brand": _one(brand),
            "vat_rate": _one(VAT_FOOD),
            "ean": _one(self._ean()),
            "is_organic": _one(rng.random() < 0.3),
            "keywords": _keywords(names, category),
            "country_of_origin": _one(rng.choice(ORIGINS)),
            "price": _prices(rng.choice([0.99, 1.49, 2.49, 3.99, 7.99, 12.99]), rng),
            "weight": _one({"amount": f"{float(amount) * (1 if measure == 'weight' else 1000) / 1000 + 0.05:.2f}", "unit": "KILOGRAM"}),
            **_package(rng.randint(8, 25), rng.randint(6, 12), rng.randint(4, 30)),
            **content,
        }
        if "image" not in missing and self.images:
            values["image"] = _one(self.images[rng.choice(["white", "green", "brown", "beige"])])
        till_suffix = suffix.replace("g", "г").replace("l", "л")
        values["till_name"] = _one(f"{TILL_NAMES[name]} {BRAND_LABELS[brand]} {till_suffix}"[:30])
        values["sales_unit"] = _one("piece")
        values["sold_by_weight"] = _one(False)
        if name in LOOSE and self.serial % 2 == 0:
            # sold loose: weighed at the till, priced per kg, an in-store code made from the PLU
            loose = (f"{BRAND_LABELS[brand]} {name}, loose", f"{BRAND_LABELS[brand]} {name_de}, lose", f"{name_ru} на вес {BRAND_LABELS[brand]}")
            values["name"] = _localized(loose, missing)
            values["till_name"] = _one(f"{TILL_NAMES[name]} вес. {BRAND_LABELS[brand]}"[:30])
            values["sales_unit"] = _one("kg")
            values["sold_by_weight"] = _one(True)
            values["plu"] = _one(f"{self.serial % 100000:05d}")
            del values["ean"], values["net_content"]
        return ProductInput(identifier=f"GR{self.serial + 1:08d}", family="grocery", categories=[category], values=values)


def load_demo(*, products: int = 10000, seed: int = 42, batch_size: int = UPSERT_BATCH_SIZE, on_progress: Callable[[int], None] | None = None) -> UpsertReport:
    """Load the demo structure and `products` generated products through the catalogue services.

    Product models come first, as when a catalogue is loaded from Akeneo: a first pass over the
    generator keeps only them. The products then go through the batch upsert as one stream.
    """
    actor = Actor("demo", Source.IMPORT)
    install_demo_structure()
    images = _make_images(random.Random(seed))
    existing = set(db.session.scalars(select(ProductModel.code)))

    for models in DemoGenerator(products, seed=seed, images=images, id_offset=0).model_batches(batch_size):
        fresh = [m for m in models if m.code not in existing]
        if fresh:
            for result in save_product_models(fresh, actor=actor):
                if result.status == "rejected":
                    raise Invalid(result.errors)
            existing.update(m.code for m in fresh)

    generator = DemoGenerator(products, seed=seed, images=images, id_offset=0)
    reductions: list[ProductInput] = []

    def stream() -> Iterator[ProductInput]:
        for item in generator.products():
            generator.models = []  # saved in the first pass
            reduced = _campaign_price(item)
            if reduced is not None:
                reductions.append(reduced)
            yield item

    def progress(report: UpsertReport) -> None:
        if on_progress is not None:
            on_progress(report.created + report.updated + report.unchanged + len(report.rejected))

    report = upsert_products(stream(), actor=actor, batch_size=batch_size, on_batch=progress)
    # a price campaign through the write path, so the products' history holds a real reduction
    upsert_products(reductions, actor=actor, batch_size=batch_size)
    return report


def _campaign_price(item: ProductInput) -> ProductInput | None:
    """Return a 20% reduction of the prices of a Black Friday product or of every seventh grocery, or None."""
    categories = item.categories if isinstance(item.categories, list) else []
    on_sale = "black_friday" in categories or (item.family == "grocery" and int(item.identifier[2:]) % 7 == 0)
    if not on_sale or "price" not in item.values:
        return None
    reduced = []
    for value in item.values["price"]:
        amounts = []
        for price in value["data"]:
            amount = float(price["amount"]) * 0.8
            if price["currency"] == "RUB":
                amount = float(round(amount, -1))
            else:
                amount = round(amount) - 0.01 if amount >= 10 else math.floor(amount * 10) / 10 - 0.01
            amounts.append({"amount": f"{max(amount, 0.49):.2f}", "currency": price["currency"]})
        reduced.append({**value, "data": amounts})
    return ProductInput(identifier=item.identifier, values={"price": reduced})
