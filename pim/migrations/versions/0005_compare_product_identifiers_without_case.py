"""Compare product identifiers and model codes without case

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
# table: (the column people type, the key column that makes it unique)
_KEYED = {"product": ("identifier", "identifier_key"), "product_model": ("code", "code_key")}


def upgrade() -> None:
    for table_name, (column, key_column) in _KEYED.items():
        # A plain ADD COLUMN: SQLite would otherwise copy the whole table.
        op.add_column(table_name, sa.Column(key_column, IdentifierKey, nullable=True))
        _fill_keys(table_name, column, key_column)
        op.create_index(f"uq_{table_name}_{key_column}", table_name, [key_column], unique=True)


def _fill_keys(table_name: str, column: str, key_column: str) -> None:
    """Write every row's key; stop, naming them, when rows share one."""
    connection = op.get_bind()
    table = sa.table(table_name, sa.column("id", sa.Integer), sa.column(column, sa.String), sa.column(key_column, IdentifierKey))
    code, key = table.c[column], table.c[key_column]
    last = 0
    while True:
        rows = connection.execute(sa.select(table.c.id, code).where(table.c.id > last).order_by(table.c.id).limit(_BATCH)).all()
        if not rows:
            break
        last = rows[-1][0]
        keys = [{"b_id": row_id, "b_key": identifier_key(text)} for row_id, text in rows]
        connection.execute(sa.update(table).where(table.c.id == sa.bindparam("b_id")).values({key_column: sa.bindparam("b_key")}), keys)
    shared = sa.select(key).group_by(key).having(sa.func.count() > 1)
    clashes = connection.scalar(sa.select(sa.func.count()).select_from(shared.subquery()))
    if clashes:
        shown = [
            " and ".join(repr(text) for text in connection.scalars(sa.select(code).where(key == value).order_by(table.c.id)))
            for value in connection.scalars(shared.order_by(key).limit(20))
        ]
        more = f" and {clashes - 20} more" if clashes > 20 else ""
        what = "Product identifiers" if table_name == "product" else "Product model codes"
        raise Conflict(
            f"{what} now ignore case, and {clashes} of them {'is' if clashes == 1 else 'are'} written in more than one way (differing only in case or in how "
            f"an accented letter is encoded): {'; '.join(shown)}{more}. Rename or delete all but one of each, then upgrade again"
        )


def downgrade() -> None:
    for table_name, (_column, key_column) in _KEYED.items():
        op.drop_index(f"uq_{table_name}_{key_column}", table_name=table_name)
        op.execute(f"ALTER TABLE {table_name} DROP COLUMN {key_column}")
