"""Compare product identifiers without case

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

from pim.catalog.models import IdentifierKey, identifier_key
from pim.errors import Conflict

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BATCH = 10000


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite would otherwise copy the whole product table.
    op.add_column("product", sa.Column("identifier_key", IdentifierKey, nullable=True))
    connection = op.get_bind()
    product = sa.table("product", sa.column("id", sa.Integer), sa.column("identifier", sa.String), sa.column("identifier_key", IdentifierKey))
    holders: dict[str, str] = {}
    clashes: list[tuple[str, str]] = []  # (first holder, identifier with the same key)
    last = 0
    while True:
        rows = connection.execute(sa.select(product.c.id, product.c.identifier).where(product.c.id > last).order_by(product.c.id).limit(_BATCH)).all()
        if not rows:
            break
        last = rows[-1].id
        keys = []
        for row in rows:
            key = identifier_key(row.identifier)
            if key in holders:
                clashes.append((holders[key], row.identifier))
            holders[key] = row.identifier
            keys.append({"b_id": row.id, "b_key": key})
        connection.execute(
            sa.update(product).where(product.c.id == sa.bindparam("b_id")).values(identifier_key=sa.bindparam("b_key")),
            keys,
        )
    if clashes:
        shown = "; ".join(f"{a!r} and {b!r}" for a, b in clashes[:20])
        more = f" and {len(clashes) - 20} more" if len(clashes) > 20 else ""
        pairs = f"{len(clashes)} pair" + ("s" if len(clashes) > 1 else "")
        raise Conflict(
            f"Product identifiers now ignore case, and {pairs} of products differ only in case or in how an accented letter is encoded: "
            f"{shown}{more}. Rename or delete one of each pair, then upgrade again"
        )
    op.create_index("uq_product_identifier_key", "product", ["identifier_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_product_identifier_key", table_name="product")
    op.execute("ALTER TABLE product DROP COLUMN identifier_key")
