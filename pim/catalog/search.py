"""Full-text search over identifiers and labels.

PostgreSQL indexes `product.search_text` with a GIN index on its `simple` tsvector (created by
the migration), so nothing is written here. SQLite keeps an FTS5 table, `product_fts`, whose
rowid is the product id; the write path keeps it in step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, bindparam, column, func, literal_column, table, text

from pim import db
from pim.catalog.models import Product

_WORD = re.compile(r"\w+", re.UNICODE)
_FTS = table("product_fts", column("rowid"), column("search_text"))


def _is_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def index_products(rows: Iterable[tuple[int, str, bool]]) -> None:
    """Index (product id, text, was indexed before) rows; a no-op on PostgreSQL."""
    if not _is_sqlite():
        return
    rows = list(rows)
    if not rows:
        return
    stale = [r[0] for r in rows if r[2]]
    if stale:
        unindex_products(stale)
    db.insert_records(_FTS, ("rowid", "search_text"), [(product_id, search_text) for product_id, search_text, _ in rows])


def unindex_products(product_ids: Sequence[int]) -> None:
    """Remove products from the SQLite full-text index."""
    if not _is_sqlite() or not product_ids:
        return
    connection = db.session.connection()
    for start in range(0, len(product_ids), 900):
        chunk = list(product_ids[start : start + 900])
        connection.execute(
            text("DELETE FROM product_fts WHERE rowid IN :ids").bindparams(bindparam("ids", expanding=True)),
            {"ids": chunk},
        )


def words(query: str) -> list[str]:
    """Split a search box entry into words (punctuation is ignored)."""
    return _WORD.findall(query.lower())[:12]


def match_condition(query: str) -> ColumnElement[bool]:
    """Return a condition matching products whose identifier or label has every word, as a prefix."""
    terms = words(query)
    if not terms:
        return literal_column("1") == literal_column("1")
    if _is_sqlite():
        expression = " AND ".join(f'"{t}"*' for t in terms)
        subquery = text("SELECT rowid FROM product_fts WHERE product_fts MATCH :fts").bindparams(fts=expression)
        return Product.id.in_(subquery.columns(literal_column("rowid")))
    tsquery = " & ".join(f"{t}:*" for t in terms)
    return func.to_tsvector(literal_column("'simple'"), Product.search_text).op("@@")(func.to_tsquery(literal_column("'simple'"), tsquery))
