"""Migration scripts (in `versions/`) and what their data steps share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pim.db import JsonDocument


def effective_values(connection: Connection, batch_size: int = 5000) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Yield every product's id and values, its own merged over its models', in batches by id.

    Data steps read the tables as they are at their revision, not through the models.
    """
    product = sa.table("product", sa.column("id", sa.Integer), sa.column("parent_id", sa.Integer), sa.column("values", JsonDocument))
    model = sa.table("product_model", sa.column("id", sa.Integer), sa.column("parent_id", sa.Integer), sa.column("values", JsonDocument))
    parent, grandparent = model.alias("parent"), model.alias("grandparent")
    statement = (
        sa.select(product.c.id, product.c["values"], parent.c["values"], grandparent.c["values"])
        .select_from(product.outerjoin(parent, parent.c.id == product.c.parent_id).outerjoin(grandparent, grandparent.c.id == parent.c.parent_id))
        .order_by(product.c.id)
        .limit(batch_size)
    )
    last = 0
    while True:
        rows = connection.execute(statement.where(product.c.id > last)).all()
        if not rows:
            return
        last = rows[-1][0]
        batch = []
        for product_id, own, from_parent, from_grandparent in rows:
            effective: dict[str, Any] = {}
            for values in (from_grandparent, from_parent, own):
                effective.update(values or {})
            batch.append((product_id, effective))
        yield batch
