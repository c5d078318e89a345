"""Bulk inserts: what goes in through one encoded statement reads back exactly."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from pim import db
from pim.catalog.models import Product, ProductNumber, ProductText
from pim.versioning.models import Version


def test_bulk_insert_keeps_awkward_texts_numbers_and_documents(db_session):
    awkward = ["tab\there", "back\\slash", "line\nbreak", "return\rcarriage", "кириллица «ёлка»", "\\N", "", "emoji 🥾", 'quote " and \\"']
    now = dt.datetime(2026, 11, 24, 5, 0, 0, 123456, tzinfo=dt.UTC)
    ids = [uuid.uuid4() for _ in awkward]
    documents = [{"name": {"<all_channels>": {"en_US": text}}, "n": [1.5, None, True]} for text in awkward]
    rows = [
        {
            "id": 900000 + position,
            "uuid": ids[position],
            "identifier": f"AWK-{position}",
            "identifier_key": f"awk-{position}",
            "family_id": None,
            "parent_id": None,
            "axis_key": text or None,
            "is_enabled": position % 2 == 0,
            "values": documents[position],
            "categories": [text],
            "search_text": text,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for position, text in enumerate(awkward)
    ]
    db.bulk_insert(Product.__table__, rows)
    numbers = [0.1, 1e-300, 123456.789, 2.0**53 + 1, -0.0, 1 / 3]
    db.insert_records(
        ProductNumber.__table__, ("attribute_id", "scope", "locale", "unit", "value", "product_id"), [(1, "", "", "EUR", n, 900000) for n in numbers]
    )
    db.insert_records(
        ProductText.__table__, ("attribute_id", "scope", "locale", "product_id", "value"), [(1, "", str(p), 900000, t) for p, t in enumerate(awkward)]
    )
    db.session.flush()
    db.session.expire_all()

    stored = {p.identifier: p for p in db.session.scalars(select(Product).where(Product.id >= 900000))}
    for position, text in enumerate(awkward):
        product = stored[f"AWK-{position}"]
        assert product.uuid == ids[position]
        assert product.values == documents[position]
        assert product.categories == [text]
        assert product.search_text == text
        assert product.axis_key == (text or None)
        assert product.is_enabled is (position % 2 == 0)
        assert product.created_at.astimezone(dt.UTC) == now
    assert sorted(db.session.scalars(select(ProductNumber.value).where(ProductNumber.product_id == 900000))) == sorted(numbers)
    texts = dict(db.session.execute(select(ProductText.locale, ProductText.value).where(ProductText.product_id == 900000)).all())
    assert [texts[str(p)] for p in range(len(awkward))] == awkward


def test_bulk_insert_writes_nulls_and_json_nulls_apart(db_session):
    db.bulk_insert(
        Version.__table__,
        [
            {
                "resource_type": "product",
                "resource_id": 1,
                "resource_code": "A",
                "version": 1,
                "author": "x",
                "source": "cli",
                "job_id": None,
                "logged_at": db.utcnow(),
                "changes": {"a|": {"old": None, "new": "\\t"}},
            },
        ],
    )
    version = db.session.scalars(select(Version).where(Version.resource_code == "A")).one()
    assert version.job_id is None
    assert version.changes == {"a|": {"old": None, "new": "\\t"}}


def test_new_uuids_are_version_7_and_ordered_by_time():
    before = dt.datetime.now(dt.UTC)
    made = [db.new_uuid() for _ in range(20000)]
    after = dt.datetime.now(dt.UTC)
    assert made == sorted(made) and len(set(made)) == len(made)
    assert {u.version for u in made} == {7} and {u.variant for u in made} == {uuid.RFC_4122}
    # the first 48 bits are the Unix time in milliseconds
    stamped = dt.datetime.fromtimestamp((made[0].int >> 80) / 1000, dt.UTC)
    assert before - dt.timedelta(milliseconds=1) <= stamped <= after
