"""Category trees: create, move, relabel and delete categories."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select, update

from pim import db
from pim.catalog.models import Category, ProductCategory
from pim.errors import Conflict, ErrorCode, Invalid, NotFound
from pim.structure.models import Channel
from pim.structure.services import check_code


def get_category(code: str) -> Category:
    """Return a category by code; raise NotFound."""
    category = db.session.scalar(select(Category).where(Category.code == code))
    if category is None:
        raise NotFound(f"Category {code!r} does not exist")
    return category


def create_category(code: str, *, parent: str | None = None, labels: Mapping[str, str] | None = None, sort_order: int = 0) -> Category:
    """Create a category under a parent, or a new tree when no parent is given."""
    check_code(code)
    with db.transaction() as session:
        if session.scalar(select(Category.id).where(Category.code == code)) is not None:
            raise Conflict(f"Category {code!r} already exists")
        parent_row = get_category(parent) if parent else None
        category = Category(code=code, labels=dict(labels or {}), sort_order=sort_order, parent_id=parent_row.id if parent_row else None)
        session.add(category)
        session.flush()
        _place(category, parent_row)
    return category


def _place(category: Category, parent: Category | None) -> None:
    if parent is None:
        category.root_id = category.id
        category.path = f"/{category.id}/"
        category.level = 0
    else:
        category.root_id = parent.root_id
        category.path = f"{parent.path}{category.id}/"
        category.level = parent.level + 1


def update_category(code: str, *, labels: Mapping[str, str] | None = None, sort_order: int | None = None) -> Category:
    """Change a category's labels or position among its siblings."""
    with db.transaction():
        category = get_category(code)
        if labels:
            category.labels = {**category.labels, **labels}
        if sort_order is not None:
            category.sort_order = sort_order
    return category


def move_category(code: str, *, parent: str) -> Category:
    """Move a category and everything below it under another parent, in the same tree."""
    with db.transaction() as session:
        category = get_category(code)
        new_parent = get_category(parent)
        if category.parent_id is None:
            raise Invalid.one("parent", f"Category {code!r} is a tree root and cannot be moved", ErrorCode.WRONG_TREE)
        if new_parent.root_id != category.root_id:
            raise Invalid.one(
                "parent",
                f"Category {parent!r} is in another tree; a category moves within its own tree",
                ErrorCode.WRONG_TREE,
            )
        if new_parent.path.startswith(category.path):
            raise Invalid.one("parent", f"Category {parent!r} is below {code!r}", ErrorCode.WRONG_TREE)
        old_path, old_level = category.path, category.level
        category.parent_id = new_parent.id
        _place(category, new_parent)
        session.flush()
        session.execute(
            update(Category)
            .where(Category.path.startswith(old_path), Category.id != category.id)
            .values(
                path=func.replace(Category.path, old_path, category.path),
                level=Category.level + (category.level - old_level),
            )
            .execution_options(synchronize_session=False)
        )
        # categories below it that this session already holds must read their new place
        for held in list(session.identity_map.values()):
            if isinstance(held, Category) and held is not category:
                session.expire(held, ["path", "level"])
    return category


def delete_category(code: str) -> None:
    """Delete a category with no products in it or below it; a channel's tree cannot be deleted."""
    with db.transaction() as session:
        category = get_category(code)
        subtree = select(Category.id).where(Category.path.startswith(category.path))
        used = session.scalar(select(func.count(func.distinct(ProductCategory.product_id))).where(ProductCategory.category_id.in_(subtree)))
        if used:
            raise Conflict(f"Category {code!r} or a category below it classifies {used} products; unclassify them first")
        channels = session.scalars(select(Channel.code).where(Channel.category_tree_id == category.id)).all()
        if channels:
            raise Conflict(f"Category {code!r} is the tree of the channels {', '.join(channels)}")
        ids = session.scalars(subtree.order_by(Category.level.desc())).all()
        for category_id in ids:
            session.delete(session.get(Category, category_id))
