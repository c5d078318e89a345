"""Create the catalogue schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 06:17:34.391965
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "association_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("is_quantified", sa.Boolean(), nullable=False),
        sa.Column("is_two_way", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_association_type")),
        sa.UniqueConstraint("code", name=op.f("uq_association_type_code")),
    )
    op.create_table(
        "attribute_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribute_group")),
        sa.UniqueConstraint("code", name=op.f("uq_attribute_group_code")),
    )
    op.create_table(
        "category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("root_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["category.id"], name=op.f("fk_category_parent_id_category")),
        sa.ForeignKeyConstraint(["root_id"], ["category.id"], name=op.f("fk_category_root_id_category")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category")),
        sa.UniqueConstraint("code", name=op.f("uq_category_code")),
    )
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_category_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_category_path"), ["path"], unique=False)

    op.create_table(
        "currency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_currency")),
        sa.UniqueConstraint("code", name=op.f("uq_currency_code")),
    )
    op.create_table(
        "locale",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locale")),
        sa.UniqueConstraint("code", name=op.f("uq_locale_code")),
    )
    op.create_table(
        "measurement_family",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("standard_unit", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurement_family")),
        sa.UniqueConstraint("code", name=op.f("uq_measurement_family_code")),
    )
    op.create_table(
        "media_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("original_filename", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_file")),
        sa.UniqueConstraint("key", name=op.f("uq_media_file_key")),
        sa.UniqueConstraint("sha256", name=op.f("uq_media_file_sha256")),
    )
    op.create_table(
        "structure_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_structure_revision")),
    )
    op.create_table(
        "version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=20), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("resource_code", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version")),
    )
    with op.batch_alter_table("version", schema=None) as batch_op:
        batch_op.create_index("ix_version_resource", ["resource_type", "resource_id", "version"], unique=False)

    op.create_table(
        "attribute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "pim_catalog_identifier",
                "pim_catalog_text",
                "pim_catalog_textarea",
                "pim_catalog_number",
                "pim_catalog_metric",
                "pim_catalog_price_collection",
                "pim_catalog_boolean",
                "pim_catalog_date",
                "pim_catalog_simpleselect",
                "pim_catalog_multiselect",
                "pim_catalog_image",
                "pim_catalog_file",
                name="attributetype",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("is_localizable", sa.Boolean(), nullable=False),
        sa.Column("is_scopable", sa.Boolean(), nullable=False),
        sa.Column("is_unique", sa.Boolean(), nullable=False),
        sa.Column("available_locales", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True),
        sa.Column("max_characters", sa.Integer(), nullable=True),
        sa.Column("validation_regexp", sa.Text(), nullable=True),
        sa.Column("is_wysiwyg", sa.Boolean(), nullable=False),
        sa.Column("number_min", sa.String(length=60), nullable=True),
        sa.Column("number_max", sa.String(length=60), nullable=True),
        sa.Column("is_decimals_allowed", sa.Boolean(), nullable=False),
        sa.Column("is_negative_allowed", sa.Boolean(), nullable=False),
        sa.Column("date_min", sa.String(length=10), nullable=True),
        sa.Column("date_max", sa.String(length=10), nullable=True),
        sa.Column("allowed_extensions", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True),
        sa.Column("max_file_size", sa.Integer(), nullable=True),
        sa.Column("metric_family", sa.String(length=100), nullable=True),
        sa.Column("default_metric_unit", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["attribute_group.id"], name=op.f("fk_attribute_group_id_attribute_group")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribute")),
        sa.UniqueConstraint("code", name=op.f("uq_attribute_code")),
    )
    op.create_table(
        "channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("category_tree_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["category_tree_id"], ["category.id"], name=op.f("fk_channel_category_tree_id_category")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel")),
        sa.UniqueConstraint("code", name=op.f("uq_channel_code")),
    )
    op.create_table(
        "measurement_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("factor", sa.String(length=60), nullable=False),
        sa.Column("offset", sa.String(length=60), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["family_id"], ["measurement_family.id"], name=op.f("fk_measurement_unit_family_id_measurement_family"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurement_unit")),
        sa.UniqueConstraint("family_id", "code", name=op.f("uq_measurement_unit_family_id_code")),
    )
    op.create_table(
        "attribute_option",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["attribute_id"], ["attribute.id"], name=op.f("fk_attribute_option_attribute_id_attribute"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribute_option")),
        sa.UniqueConstraint("attribute_id", "code", name=op.f("uq_attribute_option_attribute_id_code")),
    )
    op.create_table(
        "channel_currency",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("currency_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"], name=op.f("fk_channel_currency_channel_id_channel"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["currency_id"], ["currency.id"], name=op.f("fk_channel_currency_currency_id_currency")),
        sa.PrimaryKeyConstraint("channel_id", "currency_id", name=op.f("pk_channel_currency")),
    )
    with op.batch_alter_table("channel_currency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_currency_currency_id"), ["currency_id"], unique=False)

    op.create_table(
        "channel_locale",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("locale_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"], name=op.f("fk_channel_locale_channel_id_channel"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["locale_id"], ["locale.id"], name=op.f("fk_channel_locale_locale_id_locale")),
        sa.PrimaryKeyConstraint("channel_id", "locale_id", name=op.f("pk_channel_locale")),
    )
    with op.batch_alter_table("channel_locale", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_locale_locale_id"), ["locale_id"], unique=False)

    op.create_table(
        "family",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("attribute_as_label_id", sa.Integer(), nullable=True),
        sa.Column("attribute_as_image_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["attribute_as_image_id"], ["attribute.id"], name=op.f("fk_family_attribute_as_image_id_attribute")),
        sa.ForeignKeyConstraint(["attribute_as_label_id"], ["attribute.id"], name=op.f("fk_family_attribute_as_label_id_attribute")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family")),
        sa.UniqueConstraint("code", name=op.f("uq_family_code")),
    )
    op.create_table(
        "attribute_requirement",
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["attribute_id"], ["attribute.id"], name=op.f("fk_attribute_requirement_attribute_id_attribute")),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"], name=op.f("fk_attribute_requirement_channel_id_channel"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["family_id"], ["family.id"], name=op.f("fk_attribute_requirement_family_id_family"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("family_id", "channel_id", "attribute_id", name=op.f("pk_attribute_requirement")),
    )
    with op.batch_alter_table("attribute_requirement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attribute_requirement_attribute_id"), ["attribute_id"], unique=False)

    op.create_table(
        "family_attribute",
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["attribute_id"], ["attribute.id"], name=op.f("fk_family_attribute_attribute_id_attribute")),
        sa.ForeignKeyConstraint(["family_id"], ["family.id"], name=op.f("fk_family_attribute_family_id_family"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("family_id", "attribute_id", name=op.f("pk_family_attribute")),
    )
    with op.batch_alter_table("family_attribute", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_family_attribute_attribute_id"), ["attribute_id"], unique=False)

    op.create_table(
        "family_variant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(["family_id"], ["family.id"], name=op.f("fk_family_variant_family_id_family")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_variant")),
        sa.UniqueConstraint("code", name=op.f("uq_family_variant_code")),
    )
    op.create_table(
        "family_variant_attribute",
        sa.Column("family_variant_id", sa.Integer(), nullable=False),
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("is_axis", sa.Boolean(), nullable=False),
        sa.Column("axis_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["attribute_id"], ["attribute.id"], name=op.f("fk_family_variant_attribute_attribute_id_attribute")),
        sa.ForeignKeyConstraint(
            ["family_variant_id"], ["family_variant.id"], name=op.f("fk_family_variant_attribute_family_variant_id_family_variant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("family_variant_id", "attribute_id", name=op.f("pk_family_variant_attribute")),
    )
    with op.batch_alter_table("family_variant_attribute", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_family_variant_attribute_attribute_id"), ["attribute_id"], unique=False)

    op.create_table(
        "product_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=255), nullable=False),
        sa.Column("family_variant_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("axis_key", sa.String(length=1000), nullable=True),
        sa.Column("values", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("categories", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["family_variant_id"], ["family_variant.id"], name=op.f("fk_product_model_family_variant_id_family_variant")),
        sa.ForeignKeyConstraint(["parent_id"], ["product_model.id"], name=op.f("fk_product_model_parent_id_product_model")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_model")),
        sa.UniqueConstraint("code", name=op.f("uq_product_model_code")),
        sa.UniqueConstraint("parent_id", "axis_key", name=op.f("uq_product_model_parent_id_axis_key")),
    )
    with op.batch_alter_table("product_model", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_model_family_variant_id"), ["family_variant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_model_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("axis_key", sa.String(length=1000), nullable=True),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("values", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("categories", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["family_id"], ["family.id"], name=op.f("fk_product_family_id_family")),
        sa.ForeignKeyConstraint(["parent_id"], ["product_model.id"], name=op.f("fk_product_parent_id_product_model")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("identifier", name=op.f("uq_product_identifier")),
        sa.UniqueConstraint("parent_id", "axis_key", name=op.f("uq_product_parent_id_axis_key")),
        sa.UniqueConstraint("uuid", name=op.f("uq_product_uuid")),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index("ix_product_enabled_updated", ["is_enabled", "updated_at", "id"], unique=False)
        batch_op.create_index("ix_product_family_updated", ["family_id", "updated_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index("ix_product_updated", ["updated_at", "id"], unique=False)

    op.create_table(
        "completeness",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("locale_id", sa.Integer(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("ratio", sa.Integer(), nullable=False),
        sa.Column("missing_attributes", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"], name=op.f("fk_completeness_channel_id_channel"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["locale_id"], ["locale.id"], name=op.f("fk_completeness_locale_id_locale")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_completeness_product_id_product"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("product_id", "channel_id", "locale_id", name=op.f("pk_completeness")),
    )
    with op.batch_alter_table("completeness", schema=None) as batch_op:
        batch_op.create_index("ix_completeness_channel_locale_ratio", ["channel_id", "locale_id", "ratio", "product_id"], unique=False)

    op.create_table(
        "product_association",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("association_type_id", sa.Integer(), nullable=False),
        sa.Column("target_product_id", sa.Integer(), nullable=True),
        sa.Column("target_model_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["association_type_id"], ["association_type.id"], name=op.f("fk_product_association_association_type_id_association_type")),
        sa.ForeignKeyConstraint(["owner_id"], ["product.id"], name=op.f("fk_product_association_owner_id_product"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["target_model_id"], ["product_model.id"], name=op.f("fk_product_association_target_model_id_product_model"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["target_product_id"], ["product.id"], name=op.f("fk_product_association_target_product_id_product"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_association")),
        sa.UniqueConstraint(
            "owner_id",
            "association_type_id",
            "target_product_id",
            "target_model_id",
            name=op.f("uq_product_association_owner_id_association_type_id_target_product_id_target_model_id"),
        ),
    )
    with op.batch_alter_table("product_association", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_association_association_type_id"), ["association_type_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_association_target_model_id"), ["target_model_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_association_target_product_id"), ["target_product_id"], unique=False)

    op.create_table(
        "product_category",
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["category_id"], ["category.id"], name=op.f("fk_product_category_category_id_category")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_product_category_product_id_product"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("category_id", "product_id", name=op.f("pk_product_category")),
    )
    with op.batch_alter_table("product_category", schema=None) as batch_op:
        batch_op.create_index("ix_product_category_product", ["product_id"], unique=False)

    op.create_table(
        "unique_value",
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["attribute_id"], ["attribute.id"], name=op.f("fk_unique_value_attribute_id_attribute")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_unique_value_product_id_product"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attribute_id", "value", name=op.f("pk_unique_value")),
    )
    with op.batch_alter_table("unique_value", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unique_value_product_id"), ["product_id"], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_product_search ON product USING gin (to_tsvector('simple', search_text))")
    else:
        op.execute("CREATE VIRTUAL TABLE product_fts USING fts5(search_text, tokenize='unicode61 remove_diacritics 2', prefix='2 3')")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_product_search")
    else:
        op.execute("DROP TABLE IF EXISTS product_fts")
    with op.batch_alter_table("unique_value", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unique_value_product_id"))

    op.drop_table("unique_value")
    with op.batch_alter_table("product_category", schema=None) as batch_op:
        batch_op.drop_index("ix_product_category_product")

    op.drop_table("product_category")
    with op.batch_alter_table("product_association", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_association_target_product_id"))
        batch_op.drop_index(batch_op.f("ix_product_association_target_model_id"))
        batch_op.drop_index(batch_op.f("ix_product_association_association_type_id"))

    op.drop_table("product_association")
    with op.batch_alter_table("completeness", schema=None) as batch_op:
        batch_op.drop_index("ix_completeness_channel_locale_ratio")

    op.drop_table("completeness")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index("ix_product_updated")
        batch_op.drop_index(batch_op.f("ix_product_parent_id"))
        batch_op.drop_index("ix_product_family_updated")
        batch_op.drop_index("ix_product_enabled_updated")

    op.drop_table("product")
    with op.batch_alter_table("product_model", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_model_parent_id"))
        batch_op.drop_index(batch_op.f("ix_product_model_family_variant_id"))

    op.drop_table("product_model")
    with op.batch_alter_table("family_variant_attribute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_family_variant_attribute_attribute_id"))

    op.drop_table("family_variant_attribute")
    op.drop_table("family_variant")
    with op.batch_alter_table("family_attribute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_family_attribute_attribute_id"))

    op.drop_table("family_attribute")
    with op.batch_alter_table("attribute_requirement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attribute_requirement_attribute_id"))

    op.drop_table("attribute_requirement")
    op.drop_table("family")
    with op.batch_alter_table("channel_locale", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_locale_locale_id"))

    op.drop_table("channel_locale")
    with op.batch_alter_table("channel_currency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_currency_currency_id"))

    op.drop_table("channel_currency")
    op.drop_table("attribute_option")
    op.drop_table("measurement_unit")
    op.drop_table("channel")
    op.drop_table("attribute")
    with op.batch_alter_table("version", schema=None) as batch_op:
        batch_op.drop_index("ix_version_resource")

    op.drop_table("version")
    op.drop_table("structure_revision")
    op.drop_table("media_file")
    op.drop_table("measurement_family")
    op.drop_table("locale")
    op.drop_table("currency")
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_category_path"))
        batch_op.drop_index(batch_op.f("ix_category_parent_id"))

    op.drop_table("category")
    op.drop_table("attribute_group")
    op.drop_table("association_type")
