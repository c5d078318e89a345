"""Write the tables derived from product values without foreign keys

Facets, completeness, unique values and category links are rebuilt by the write path from each
product's values. On PostgreSQL every foreign key is a trigger run once per inserted row, which
made these tables two thirds of the time of a bulk load; the services that delete products and
channels now delete their rows themselves.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 04:30:00.000000
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# table: (with rowid on SQLite, [(column, referred table, on delete)])
DERIVED = {
    "product_facet": (False, [("attribute_id", "attribute", "CASCADE"), ("product_id", "product", "CASCADE")]),
    "product_number": (False, [("attribute_id", "attribute", "CASCADE"), ("product_id", "product", "CASCADE")]),
    "product_text": (False, [("attribute_id", "attribute", "CASCADE"), ("product_id", "product", "CASCADE")]),
    "completeness": (True, [("product_id", "product", "CASCADE"), ("channel_id", "channel", "CASCADE"), ("locale_id", "locale", None)]),
    "product_category": (True, [("category_id", "category", None), ("product_id", "product", "CASCADE")]),
    "unique_value": (True, [("attribute_id", "attribute", None), ("product_id", "product", "CASCADE")]),
}


def upgrade() -> None:
    for table, (with_rowid, keys) in DERIVED.items():
        # SQLite cannot drop a constraint: batch mode copies the table into one without it
        with op.batch_alter_table(table, table_kwargs={"sqlite_with_rowid": with_rowid}) as batch:
            for column, referred, _on_delete in keys:
                batch.drop_constraint(f"fk_{table}_{column}_{referred}", type_="foreignkey")


def downgrade() -> None:
    for table, (with_rowid, keys) in DERIVED.items():
        with op.batch_alter_table(table, table_kwargs={"sqlite_with_rowid": with_rowid}) as batch:
            for column, referred, on_delete in keys:
                batch.create_foreign_key(f"fk_{table}_{column}_{referred}", referred, [column], ["id"], ondelete=on_delete)
