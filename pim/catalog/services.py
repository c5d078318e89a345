"""The one write path of products and product models.

Every product write, one product from a form or a million from a file, goes through
`upsert_products`: values are validated against their attributes in Python for a whole batch,
the invalid products are set aside with their errors, and the valid ones are written with one
statement per table (products, category links, completeness, unique values, associations,
versions). A product is the unit of atomicity: one bad value rejects its product, never half
of it, and never its neighbours in the batch.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import logging
import re
import sys
import uuid as uuid_module
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from pim import db
from pim.actor import Actor, Source
from pim.catalog.completeness import CompletenessCalculator
from pim.catalog.facets import FacetBatch, save_model_texts
from pim.catalog.models import (
    Category,
    Completeness,
    MediaFile,
    ModelLongText,
    Product,
    ProductAssociation,
    ProductCategory,
    ProductFacet,
    ProductLongText,
    ProductModel,
    ProductNumber,
    ProductText,
    UniqueValue,
    identifier_key,
)
from pim.catalog.values import (
    ValueContext,
    apply_values,
    copy_raw,
    flatten,
    get_value,
    iter_values,
    split_key,
)
from pim.collector import fewer_collections
from pim.errors import Conflict, ErrorCode, FieldError, Invalid, NotFound
from pim.structure.snapshot import FamilyInfo, FamilyVariantInfo, Structure, get_structure
from pim.versioning.models import Version
from pim.versioning.services import record_versions, version_rows

logger = logging.getLogger(__name__)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Marks a product field the caller did not give; it keeps its stored value."""


@dataclass
class ProductInput:
    """A change to one product in Akeneo's standard format, applied with its PATCH rules.

    Fields left UNSET keep their stored value; `values` are merged per attribute, locale and
    channel; `version`, when given, must be the product's current version.
    """

    identifier: str
    values: Mapping[str, Any] = field(default_factory=dict)
    family: Any = UNSET
    parent: Any = UNSET
    enabled: Any = UNSET
    categories: Any = UNSET
    associations: Any = UNSET
    quantified_associations: Any = UNSET
    uuid: Any = None
    version: int | None = None
    row: int | None = None


@dataclass
class ItemResult:
    """What happened to one product of a batch."""

    identifier: str
    status: str  # created, updated, unchanged, rejected
    errors: list[FieldError] = field(default_factory=list)
    product_id: int | None = None
    version: int | None = None
    row: int | None = None
    is_conflict: bool = False


@dataclass
class UpsertReport:
    """Counts of a batch upsert, the rejected products with their errors, and (on request) every result."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[ItemResult] = field(default_factory=list)
    results: list[ItemResult] | None = None

    @property
    def processed(self) -> int:
        """Number of products read."""
        return self.created + self.updated + self.unchanged + len(self.rejected)

    def add(self, result: ItemResult) -> None:
        """Count one result."""
        if result.status == "created":
            self.created += 1
        elif result.status == "updated":
            self.updated += 1
        elif result.status == "unchanged":
            self.unchanged += 1
        else:
            self.rejected.append(result)
        if self.results is not None:
            self.results.append(result)


# --- reading what a batch needs ------------------------------------------------------------


@dataclass
class _Model:
    id: int
    code: str
    family_variant_id: int
    parent_id: int | None
    level: int
    values: dict[str, Any]
    categories: list[str]


class _Lookups:
    """Per-call caches of product models, categories and targets, filled one query per batch."""

    def __init__(self) -> None:
        self.models_by_code: dict[str, _Model] = {}  # by identifier_key(code)
        self.models_by_id: dict[int, _Model] = {}
        self.categories: dict[str, tuple[int, int]] = {}
        self.missing_categories: set[str] = set()

    MAX_MODELS = 5000

    def trim(self) -> None:
        """Forget the models read so far when there are many, so memory stays flat on huge loads.

        Called between batches only: a batch keeps every model it has read.
        """
        if len(self.models_by_id) > self.MAX_MODELS:
            self.models_by_code.clear()
            self.models_by_id.clear()

    def load_models(self, codes: Iterable[str] = (), ids: Iterable[int] = ()) -> None:
        keys = {k for k in map(identifier_key, codes) if k not in self.models_by_code}
        ids = {i for i in ids if i not in self.models_by_id}
        if not keys and not ids:
            return
        condition = ProductModel.code_key.in_(keys) if keys else None
        if ids:
            condition = ProductModel.id.in_(ids) if condition is None else condition | ProductModel.id.in_(ids)
        parents = set()
        for row in db.session.execute(
            select(
                ProductModel.id,
                ProductModel.code,
                ProductModel.family_variant_id,
                ProductModel.parent_id,
                ProductModel.values,
                ProductModel.categories,
            ).where(condition)
        ):
            model = _Model(row.id, row.code, row.family_variant_id, row.parent_id, 0 if row.parent_id is None else 1, row.values, row.categories)
            self.models_by_code[identifier_key(model.code)] = model
            self.models_by_id[model.id] = model
            if model.parent_id is not None:
                parents.add(model.parent_id)
        if parents:
            self.load_models(ids=parents)

    def chain(self, model: _Model) -> list[_Model]:
        """Return the model and its parent, root first."""
        if model.parent_id is None:
            return [model]
        self.load_models(ids=[model.parent_id])
        return [self.models_by_id[model.parent_id], model]

    def load_categories(self, codes: Iterable[str]) -> None:
        wanted = {c for c in codes if c not in self.categories and c not in self.missing_categories}
        if not wanted:
            return
        for code, category_id, root_id in db.session.execute(select(Category.code, Category.id, Category.root_id).where(Category.code.in_(wanted))):
            self.categories[code] = (category_id, root_id)
        self.missing_categories |= wanted - set(self.categories)


@dataclass
class _Work:
    """One product on its way through validation to the database."""

    input: ProductInput
    key: str = ""
    existing: Any = None
    family: FamilyInfo | None = None
    parent: _Model | None = None
    variant: FamilyVariantInfo | None = None
    chain: list[_Model] = field(default_factory=list)  # the product models it inherits from, root first
    enabled: bool = True
    values: dict[str, Any] = field(default_factory=dict)
    effective: dict[str, Any] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    category_ids: set[int] = field(default_factory=set)
    axis_key: str | None = None
    unique_values: list[tuple[int, str, str]] = field(default_factory=list)
    associations: list[tuple[int, str, str, int | None]] | None = None
    association_doc: dict[str, Any] | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    media_keys: set[str] = field(default_factory=set)
    product_id: int | None = None
    version: int = 1
    search_text: str = ""

    @property
    def identifier(self) -> str:
        """The product's identifier as stored: an update written in other case keeps it."""
        return self.existing.identifier if self.existing is not None else self.input.identifier


# --- the batch upsert ----------------------------------------------------------------------


# Products per transaction of a bulk upsert. A commit writes every index page its batch touched;
# values indexed in value order (numbers, unique codes) touch pages all over their index, so
# bigger batches write fewer pages per product. Two batches are in memory at once.
UPSERT_BATCH_SIZE = 2000


def upsert_products(
    items: Iterable[ProductInput],
    *,
    actor: Actor,
    batch_size: int = UPSERT_BATCH_SIZE,
    decimal_separator: str = ".",
    keep_results: bool = False,
    on_batch: Callable[[UpsertReport], None] | None = None,
) -> UpsertReport:
    """Create or update products in batches; return counts and every rejected product with why.

    Each batch is its own transaction, so a load of a million products keeps its progress if it
    is stopped, and memory stays flat. Inside a batch a product with any invalid value is
    rejected as a whole; the others are written.
    """
    report = UpsertReport(results=[] if keep_results else None)
    with _Pipeline(actor, report, decimal_separator, on_batch) as pipeline:
        pending: list[ProductInput] = []
        seen: set[str] = set()
        for item in items:
            key = identifier_key(item.identifier) if isinstance(item.identifier, str) else repr(item.identifier)
            if key in seen or len(pending) >= batch_size:
                pipeline.run(pending, seen)
                pending, seen = [], set()
            pending.append(item)
            seen.add(key)
        if pending:
            pipeline.run(pending, seen)
    return report


@dataclass
class _Prepared:
    """A batch validated and turned into rows, waiting for its write."""

    items: list[ProductInput]
    results: list[ItemResult]  # what the write makes of each product
    created: dict[str, int]  # the keys of the products it creates, and their ids
    rows: _Rows | None  # None: read it again when it is its turn


_SWITCH_INTERVAL = 0.001  # seconds


class _Pipeline:
    """Runs the batches of one upsert in order; from the second on, each is written on a thread
    of its own while the next one is read, validated and turned into rows.

    The database's work and Python's then overlap, which on two cores writes a big load about a
    third faster. A batch is prepared from what was committed before the batch ahead of it
    is written, so anything that batch could change sends it back to be read again inside its
    own write transaction, exactly as the first batch is: a product in both (that batch waits),
    a unique value, axis or association target found taken or missing, a version or an id
    someone else took meanwhile. Within a caller's transaction, or on a connection a caller
    shares (tests), every batch runs in turn on the caller's session.
    """

    def __init__(self, actor: Actor, report: UpsertReport, decimal_separator: str, on_batch: Callable[[UpsertReport], None] | None):
        self.actor = actor
        self.report = report
        self.decimal_separator = decimal_separator
        self.on_batch = on_batch
        self.lookups = _Lookups()
        self.batches = 0
        self.writer: ThreadPoolExecutor | None = None
        # the batch being written: its outcome, the keys of its products, the ids of those it creates
        self.in_flight: tuple[Future[list[ItemResult]], set[str], dict[str, int]] | None = None
        self.reserved = 0  # SQLite: the last product id handed out by this upsert
        self.collections = contextlib.ExitStack()
        self.switch_interval = sys.getswitchinterval()

    def __enter__(self) -> _Pipeline:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            if kind is None:
                self._settle()
            elif self.in_flight is not None:
                concurrent.futures.wait([self.in_flight[0]])
        finally:
            if self.writer is not None:
                self.writer.submit(db.session.remove).result()
                self.writer.shutdown()
                if sys.getswitchinterval() == min(self.switch_interval, _SWITCH_INTERVAL):
                    sys.setswitchinterval(self.switch_interval)
            self.collections.close()

    def run(self, items: list[ProductInput], keys: set[str]) -> None:
        """Write a batch, or prepare it and start writing it in the background."""
        self.batches += 1
        if self.batches == 1 or not _owns_its_connection():
            self._settle()
            _report(self.report, [_result(w) for w in _run_batch(items, self.actor, self.lookups, self.decimal_separator)], self.on_batch)
            return
        if self.writer is None:
            self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pim-upsert")
            # millions of short-lived objects pass through a load: the collector runs less often
            self.collections.enter_context(fewer_collections())
            # the writer takes Python's lock back after each statement; by default it would
            # wait up to 5 ms for the preparing thread to let go of it, every time
            self.switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self.switch_interval, _SWITCH_INTERVAL))
        if self.in_flight is not None and keys & self.in_flight[1]:
            self._settle()  # a product is in both: read it once the batch ahead is written
        prepared = self._prepare(items)
        self._settle()
        self.in_flight = (self.writer.submit(self._write, prepared), keys, prepared.created)

    def _prepare(self, items: list[ProductInput]) -> _Prepared:
        structure = get_structure()
        ahead = self.in_flight[2] if self.in_flight else {}
        works = _prepare(items, structure, self.lookups, self.decimal_separator, frozenset(ahead))
        valid = [w for w in works if not w.errors and w.changes]
        rows = None
        # an error found against other products may not hold once the batch ahead is written
        if not any(w.errors for w in works if w.changes) or self.in_flight is None:
            count = sum(1 for w in valid if w.existing is None)
            with contextlib.suppress(_MissingTarget):
                rows = _rows(valid, structure, self.actor, self._new_ids(count), ahead)
        db.session.commit()  # ends the read, so SQLite's log can be checkpointed past it
        # only the outcome is kept while the batch waits: its values are in the rows by now
        created = {w.key: w.product_id for w in works if w.product_id is not None and w.existing is None} if rows else {}
        return _Prepared(items, [_result(w) for w in works], created, rows)

    def _new_ids(self, count: int) -> Sequence[int]:
        if not count:
            return []
        # on SQLite the batch ahead has not committed its ids yet: continue after the last handed out
        ids = allocate_ids("product", count, after=self.reserved)
        self.reserved = ids[-1]
        return ids

    def _write(self, prepared: _Prepared) -> list[ItemResult]:
        """Write a prepared batch (on the writer thread, through its own session)."""
        if prepared.rows is not None:
            try:
                with db.transaction():
                    _check_ids_free(prepared.rows)
                    _store(prepared.rows)
                refresh_statistics_if_grown()
                return prepared.results
            except (IntegrityError, _StaleWrite, _MissingTarget):
                pass
        # something the batch read has changed: read it again inside the write
        return [_result(w) for w in _run_batch(prepared.items, self.actor, _Lookups(), self.decimal_separator)]

    def _settle(self) -> None:
        """Wait for the batch being written, then report it."""
        if self.in_flight is None:
            return
        future = self.in_flight[0]
        self.in_flight = None
        _report(self.report, future.result(), self.on_batch)


def _report(report: UpsertReport, results: list[ItemResult], on_batch: Callable[[UpsertReport], None] | None) -> None:
    for result in results:
        report.add(result)
    if on_batch is not None:
        on_batch(report)


def _owns_its_connection() -> bool:
    """Tell whether writes may go through a connection of their own: not inside a caller's transaction or connection."""
    session = db.session()
    bind = session.get_bind()
    if session.info.get("pim_depth", 0) or not isinstance(bind, Engine):
        return False
    return not (bind.dialect.name == "sqlite" and bind.url.database in (None, "", ":memory:"))


def _check_ids_free(rows: _Rows) -> None:
    """On SQLite, make sure no one else took the ids given to new products while they were prepared."""
    if rows.first_new_id is None or db.is_postgresql():
        return
    if allocate_ids("product", 1)[0] > rows.first_new_id:
        raise _StaleWrite()


def refresh_statistics_if_grown() -> None:
    """Let PostgreSQL's planner see how big the catalogue tables have grown during a long load.

    Autovacuum analyses a growing table only after a delay; until then lookups by lists of
    identifiers or EANs are planned as if the tables were small, and a load slows to a crawl.
    When the product table has more than doubled since the planner last looked, look again.
    """
    session = db.session
    if session.get_bind().dialect.name != "postgresql":
        return
    known = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'product'")) or 0
    newest = session.scalar(text("SELECT coalesce(max(id), 0) FROM product")) or 0
    if newest > 2 * max(known, 500):
        with db.transaction():
            session.execute(text("ANALYZE product, unique_value, product_category, completeness, product_model"))


def _run_batch(items: list[ProductInput], actor: Actor, lookups: _Lookups, decimal_separator: str) -> list[_Work]:
    """Read, validate and write a batch in one transaction; return its products' outcomes."""
    # A batch allocates many small acyclic objects; the cyclic collector would walk every live
    # object again and again while they pile up, so it waits until the batch is written.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with db.transaction():
            structure = get_structure()
            works = _prepare(items, structure, lookups, decimal_separator)
            valid = [w for w in works if not w.errors and w.changes]
            try:
                with db.transaction():
                    _write(valid, structure, actor)
            except (IntegrityError, _StaleWrite, _MissingTarget):
                # A concurrent writer got there first (a duplicate identifier, a unique value, a
                # newer version, a deleted target): find out which product it was, one savepoint
                # per product.
                for work in valid:
                    try:
                        with db.transaction():
                            _write([work], structure, actor)
                    except IntegrityError as exc:
                        work.errors.append(_integrity_error(work, exc))
                    except _StaleWrite:
                        work.errors.append(_stale_error(work))
                    except _MissingTarget as exc:
                        work.errors.append(exc.error)
        refresh_statistics_if_grown()
        return works
    finally:
        if collecting:
            gc.enable()


def _result(work: _Work) -> ItemResult:
    item = work.input
    identifier = work.identifier if isinstance(item.identifier, str) else repr(item.identifier)
    if work.errors:
        errors = [e if e.row is not None or item.row is None else FieldError(e.field, e.message, e.code, item.row, e.column) for e in work.errors]
        return ItemResult(
            identifier,
            "rejected",
            errors,
            row=item.row,
            product_id=work.existing.id if work.existing is not None else None,
            is_conflict=any(e.code == ErrorCode.STALE for e in errors),
        )
    if not work.changes:
        return ItemResult(identifier, "unchanged", product_id=work.existing.id, version=work.existing.version, row=item.row)
    status = "updated" if work.existing is not None else "created"
    return ItemResult(identifier, status, product_id=work.product_id, version=work.version, row=item.row)


class _StaleWrite(Exception):
    """A product changed between our read and our write."""


class _MissingTarget(Exception):
    """A product's association names a product or model that was not there when it was written."""

    def __init__(self, work: _Work, error: FieldError):
        super().__init__(error.message)
        self.work = work
        self.error = error


def _stale_error(work: _Work) -> FieldError:
    return FieldError(
        "version",
        f"Product {work.input.identifier!r} was changed by someone else meanwhile; reload it and apply your change again",
        ErrorCode.STALE,
    )


def _integrity_error(work: _Work, exc: IntegrityError) -> FieldError:
    text = str(exc.orig).lower()
    if "identifier" in text:
        return FieldError("identifier", f"Identifier {work.input.identifier!r} is already taken", ErrorCode.DUPLICATE)
    if "axis" in text:
        return FieldError("parent", "Another variant of this product model has the same axis values", ErrorCode.AXIS_TAKEN)
    if "unique_value" in text:
        return FieldError("values", "A unique value of this product is already used by another product", ErrorCode.DUPLICATE)
    if "uuid" in text:
        return FieldError("uuid", f"UUID {work.input.uuid} is already used by another product", ErrorCode.DUPLICATE)
    logger.warning("Product %s refused by the database: %s", work.input.identifier, exc.orig)
    return FieldError("product", f"The database refused the product: {exc.orig}", ErrorCode.INVALID_FORMAT)


_EXISTING_COLUMNS = (
    Product.id,
    Product.uuid,
    Product.identifier,
    Product.identifier_key,
    Product.family_id,
    Product.parent_id,
    Product.is_enabled,
    Product.values,
    Product.categories,
    Product.version,
    Product.axis_key,
)


def _prepare(items: list[ProductInput], structure: Structure, lookups: _Lookups, decimal_separator: str, ahead: frozenset[str] = frozenset()) -> list[_Work]:
    """Read and validate a batch; `ahead` holds the keys of new products a batch written before this one creates."""
    session = db.session
    lookups.trim()
    keys = [identifier_key(i.identifier) if isinstance(i.identifier, str) else None for i in items]
    wanted = [k for k in keys if k is not None]
    existing = {row.identifier_key: row for row in session.execute(select(*_EXISTING_COLUMNS).where(Product.identifier_key.in_(wanted)))}
    parent_codes = {i.parent for i in items if isinstance(i.parent, str) and i.parent}
    parent_ids = {row.parent_id for row in existing.values() if row.parent_id is not None}
    lookups.load_models(codes=parent_codes, ids=parent_ids)
    lookups.load_categories(c for i in items if isinstance(i.categories, list) for c in i.categories if isinstance(c, str))
    # a product updated without `categories` keeps its own, which must resolve to ids as well
    lookups.load_categories(c for row in existing.values() for c in (row.categories or []))
    works = []
    for item, key in zip(items, keys, strict=True):
        work = _Work(input=item, key=key or "", existing=existing.get(key) if key is not None else None)
        _build(work, structure, lookups, decimal_separator)
        works.append(work)
    _check_batch_constraints([w for w in works if not w.errors and w.changes], structure, ahead)
    return works


def _check_identifier(identifier: Any) -> str | None:
    if not isinstance(identifier, str) or not identifier.strip():
        return "The identifier (SKU) is empty"
    if identifier != identifier.strip():
        return f"Identifier {identifier!r} starts or ends with spaces"
    if len(identifier) > 255:
        return f"Identifier is limited to 255 characters, got {len(identifier)}"
    if any(ch in identifier for ch in ",;\n\r\t"):
        return f"Identifier {identifier!r} contains a comma, semicolon or line break"
    return None


def _build(work: _Work, structure: Structure, lookups: _Lookups, decimal_separator: str) -> None:
    item, existing = work.input, work.existing
    problem = _check_identifier(item.identifier)
    if problem:
        work.errors.append(FieldError("identifier", problem, ErrorCode.REQUIRED))
        return
    if existing is not None and item.version is not None and item.version != existing.version:
        work.errors.append(_stale_error(work))
        return

    # family and parent
    family = structure.families_by_id.get(existing.family_id) if existing is not None and existing.family_id else None
    if item.family is not UNSET:
        if item.family in (None, ""):
            family = None
        elif not isinstance(item.family, str) or item.family not in structure.families:
            work.errors.append(FieldError("family", f"Family {item.family!r} does not exist", ErrorCode.UNKNOWN))
            return
        else:
            family = structure.families[item.family]
    parent = lookups.models_by_id.get(existing.parent_id) if existing is not None and existing.parent_id else None
    if existing is not None and existing.parent_id and parent is None:
        lookups.load_models(ids=[existing.parent_id])
        parent = lookups.models_by_id.get(existing.parent_id)
    if item.parent is not UNSET:
        if item.parent in (None, ""):
            parent = None
        else:
            parent_key = identifier_key(item.parent) if isinstance(item.parent, str) else None
            if parent_key is not None and parent_key not in lookups.models_by_code:
                lookups.load_models(codes=[item.parent])
            parent = lookups.models_by_code.get(parent_key) if parent_key is not None else None
            if parent is None:
                work.errors.append(FieldError("parent", f"Product model {item.parent!r} does not exist", ErrorCode.UNKNOWN))
                return
    chain: list[_Model] = []
    allowed = family.attributes if family is not None else None
    level_name = "family"
    if parent is not None:
        variant = structure.family_variants_by_id[parent.family_variant_id]
        variant_family = structure.families[variant.family]
        if item.family not in (UNSET, None, "") and item.family != variant.family:
            work.errors.append(
                FieldError("family", f"A variant of {parent.code!r} belongs to family {variant.family!r}, not {item.family!r}", ErrorCode.NOT_IN_FAMILY)
            )
            return
        chain = lookups.chain(parent)
        if len(chain) != variant.level_count:
            work.errors.append(
                FieldError(
                    "parent",
                    f"Product model {parent.code!r} is not at the last level of {variant.code!r}; variants hang below its sub-models",
                    ErrorCode.NOT_AT_LEVEL,
                )
            )
            return
        family = variant_family
        work.variant = variant
        allowed = variant.levels[-1].attributes | {structure.identifier_attribute}
        level_name = f"variant level of {variant.code!r} (it belongs to a product model)"
    work.family, work.parent, work.chain = family, parent, chain

    # values
    work.values = copy_raw(existing.values) if existing is not None else {}
    ctx = ValueContext(structure, decimal_separator=decimal_separator)
    work.errors.extend(apply_values(work.values, item.values, ctx, allowed=allowed, level_name=level_name))
    work.media_keys = ctx.media_keys
    identifier_values = item.values.get(structure.identifier_attribute) if isinstance(item.values, Mapping) else None
    if identifier_values:
        given = [e.get("data") for e in identifier_values if isinstance(e, dict)]
        if any(g not in (None, item.identifier) for g in given):
            work.errors.append(
                FieldError(f"values.{structure.identifier_attribute}", "The identifier value differs from the product identifier", ErrorCode.INVALID_FORMAT)
            )

    # enabled
    work.enabled = existing.is_enabled if existing is not None else True
    if item.enabled is not UNSET:
        if not isinstance(item.enabled, bool):
            work.errors.append(FieldError("enabled", f"expects true or false, got {item.enabled!r}", ErrorCode.INVALID_TYPE))
        else:
            work.enabled = item.enabled

    # categories
    work.categories = list(existing.categories) if existing is not None else []
    if item.categories is not UNSET:
        if not isinstance(item.categories, list) or not all(isinstance(c, str) for c in item.categories):
            work.errors.append(FieldError("categories", "expects a list of category codes", ErrorCode.INVALID_TYPE))
        else:
            lookups.load_categories(item.categories)
            unknown = [c for c in item.categories if c not in lookups.categories]
            for code in unknown:
                work.errors.append(FieldError("categories", f"Category {code!r} does not exist", ErrorCode.UNKNOWN))
            work.categories = list(dict.fromkeys(item.categories))
    inherited_categories = [c for m in chain for c in m.categories]
    lookups.load_categories([*work.categories, *inherited_categories])
    work.category_ids = {lookups.categories[c][0] for c in [*work.categories, *inherited_categories] if c in lookups.categories}

    # associations
    if item.associations is not UNSET or item.quantified_associations is not UNSET:
        _build_associations(work, structure)

    if work.errors:
        return

    # inherited values, axes, unique values
    work.effective = work.values
    if chain:
        work.effective = {}
        for model in chain:
            work.effective.update(model.values)
        work.effective.update(work.values)
        work.axis_key = axis_key_of(work.values, work.variant.levels[-1].axes if work.variant else (), work.errors)
    for attribute in structure.unique_attributes:
        value = work.values.get(attribute.code)
        if value is not None:
            data = value.get("<all_channels>", {}).get("<all_locales>")
            if data is not None:
                work.unique_values.append((attribute.id, attribute.code, str(data)))
    if work.errors:
        return
    _diff(work, structure)


def axis_key_of(values: dict[str, Any], axes: Sequence[str], errors: list[FieldError]) -> str:
    """Return the key that tells a variant (or sub-model) from its siblings: its axis values.

    A missing axis value is added to `errors`.
    """
    parts = []
    for axis in axes:
        data = get_value(values, axis)
        if data in (None, "", []):
            errors.append(FieldError(f"values.{axis}", f"Variant axis {axis!r} needs a value", ErrorCode.AXIS_MISSING))
        parts.append(f"{axis}={axis_text(data)}")
    return ";".join(parts)


def axis_text(data: Any) -> str:
    """Return the text that identifies an axis value among siblings (a metric by its base amount)."""
    if isinstance(data, dict):
        return f"{data.get('base_data')}{data.get('base_unit')}"
    if isinstance(data, bool):
        return "1" if data else "0"
    return str(data)


def _build_associations(work: _Work, structure: Structure) -> None:
    item = work.input
    document: dict[str, Any] = {}
    links: list[tuple[int, str, str, int | None]] = []
    for source, is_quantified in ((item.associations, False), (item.quantified_associations, True)):
        if source is UNSET:
            continue
        if not isinstance(source, Mapping):
            work.errors.append(FieldError("associations", "expects an object of association type codes", ErrorCode.INVALID_TYPE))
            continue
        for type_code, targets in source.items():
            known = structure.association_types.get(type_code)
            if known is None:
                work.errors.append(FieldError(f"associations.{type_code}", f"Association type {type_code!r} does not exist", ErrorCode.UNKNOWN))
                continue
            type_id, quantified = known
            if quantified != is_quantified:
                where = "quantified_associations" if quantified else "associations"
                work.errors.append(FieldError(f"associations.{type_code}", f"Association type {type_code!r} belongs in {where}", ErrorCode.INVALID_TYPE))
                continue
            if not isinstance(targets, Mapping):
                work.errors.append(FieldError(f"associations.{type_code}", "expects {products: [...], product_models: [...]}", ErrorCode.INVALID_TYPE))
                continue
            entry: dict[str, Any] = {}
            for kind in ("products", "product_models"):
                for target in targets.get(kind) or []:
                    if is_quantified:
                        if not isinstance(target, Mapping) or not isinstance(target.get("quantity"), int) or target["quantity"] < 1:
                            work.errors.append(
                                FieldError(
                                    f"quantified_associations.{type_code}.{kind}",
                                    "expects {identifier, quantity} with a positive whole quantity",
                                    ErrorCode.INVALID_TYPE,
                                )
                            )
                            continue
                        code, quantity = target.get("identifier"), target["quantity"]
                    else:
                        code, quantity = target, None
                    if not isinstance(code, str) or not code:
                        work.errors.append(FieldError(f"associations.{type_code}.{kind}", f"expects identifiers, got {code!r}", ErrorCode.INVALID_TYPE))
                        continue
                    links.append((type_id, kind, code, quantity))
                    entry.setdefault(kind, []).append({"identifier": code, "quantity": quantity} if is_quantified else code)
            document[type_code] = entry
    work.associations = links
    work.association_doc = document


def _diff(work: _Work, structure: Structure) -> None:
    existing = work.existing
    changes: dict[str, Any] = {}
    if existing is None:
        changes = {key: {"old": None, "new": data} for key, data in flatten(work.values).items()}
    else:
        old_flat = flatten(existing.values)
        new_flat = flatten(work.values)
        for key in old_flat.keys() | new_flat.keys():
            old, new = old_flat.get(key), new_flat.get(key)
            if old != new:
                changes[key] = {"old": old, "new": new}
    if existing is None:
        changes["identifier"] = {"old": None, "new": work.input.identifier}
        changes["enabled"] = {"old": None, "new": work.enabled}
        changes["family"] = {"old": None, "new": work.family.code if work.family else None}
        if work.parent is not None:
            changes["parent"] = {"old": None, "new": work.parent.code}
        if work.categories:
            changes["categories"] = {"old": [], "new": work.categories}
    else:
        if existing.is_enabled != work.enabled:
            changes["enabled"] = {"old": existing.is_enabled, "new": work.enabled}
        old_family = structure.families_by_id[existing.family_id].code if existing.family_id else None
        new_family = work.family.code if work.family else None
        if old_family != new_family:
            changes["family"] = {"old": old_family, "new": new_family}
        old_parent_id = existing.parent_id
        new_parent_id = work.parent.id if work.parent else None
        if old_parent_id != new_parent_id:
            old_parent = _model_code(old_parent_id)
            changes["parent"] = {"old": old_parent, "new": work.parent.code if work.parent else None}
        if list(existing.categories) != work.categories:
            changes["categories"] = {"old": list(existing.categories), "new": work.categories}
    if work.association_doc is not None:
        old_doc = associations_of([existing.id])[existing.id] if existing is not None else {}
        if _folded(old_doc) != _folded(work.association_doc):
            changes["associations"] = {"old": old_doc, "new": work.association_doc}
        else:
            work.associations = None
    work.changes = changes


def _folded(document: dict[str, Any]) -> dict[str, Any]:
    """Return an associations document with identifiers and model codes as their keys, for comparison."""
    folded: dict[str, Any] = {}
    for type_code, entry in document.items():
        folded[type_code] = {}
        for kind, targets in entry.items():
            # a target named twice is linked once, the first time (as written)
            by_key: dict[str, Any] = {}
            for target in targets:
                key = identifier_key(target["identifier"] if isinstance(target, dict) else target)
                by_key.setdefault(key, {**target, "identifier": key} if isinstance(target, dict) else key)
            folded[type_code][kind] = list(by_key.values())
    return folded


def _model_code(model_id: int | None) -> str | None:
    if model_id is None:
        return None
    return db.session.scalar(select(ProductModel.code).where(ProductModel.id == model_id))


def _check_batch_constraints(works: list[_Work], structure: Structure, ahead: frozenset[str] = frozenset()) -> None:
    """Check what needs the database or the whole batch: unique values, axes, media, targets."""
    session = db.session
    # unique values, within the batch and against stored products
    owners: dict[tuple[int, str], _Work] = {}
    for work in works:
        for attribute_id, code, value in work.unique_values:
            other = owners.get((attribute_id, value))
            if other is not None and other is not work:
                work.errors.append(
                    FieldError(
                        f"values.{code}", f"Value {value!r} of unique attribute {code!r} is also given to {other.input.identifier!r}", ErrorCode.DUPLICATE
                    )
                )
            owners[(attribute_id, value)] = work
    by_attribute: dict[int, list[str]] = {}
    for attribute_id, value in owners:
        by_attribute.setdefault(attribute_id, []).append(value)
    for attribute_id, values in by_attribute.items():
        for chunk in _chunks(values, 900):
            for value, product_id in session.execute(
                select(UniqueValue.value, UniqueValue.product_id).where(UniqueValue.attribute_id == attribute_id, UniqueValue.value.in_(chunk))
            ):
                work = owners[(attribute_id, value)]
                if work.existing is None or work.existing.id != product_id:
                    code = structure.attributes_by_id[attribute_id].code
                    holder = session.scalar(select(Product.identifier).where(Product.id == product_id))
                    work.errors.append(
                        FieldError(f"values.{code}", f"Value {value!r} of unique attribute {code!r} is already used by product {holder!r}", ErrorCode.DUPLICATE)
                    )
    # variant axes
    axes: dict[tuple[int, str], _Work] = {}
    for work in works:
        if work.parent is None or work.errors:
            continue
        key = (work.parent.id, work.axis_key or "")
        other = axes.get(key)
        if other is not None:
            work.errors.append(
                FieldError(
                    "parent", f"Variant {other.input.identifier!r} of {work.parent.code!r} already has the axis values {work.axis_key}", ErrorCode.AXIS_TAKEN
                )
            )
            continue
        axes[key] = work
    # read siblings by parent (an indexed lookup) and compare axis keys here
    parent_ids = sorted({parent_id for parent_id, _key in axes})
    for chunk in _chunks(parent_ids, 900):
        for parent_id, axis_key, product_id, identifier in session.execute(
            select(Product.parent_id, Product.axis_key, Product.id, Product.identifier).where(Product.parent_id.in_(chunk))
        ):
            work = axes.get((parent_id, axis_key))
            if work is not None and (work.existing is None or work.existing.id != product_id):
                work.errors.append(
                    FieldError("parent", f"Variant {identifier!r} of {work.parent.code!r} already has the axis values {axis_key}", ErrorCode.AXIS_TAKEN)
                )
    # media files
    keys = {k for w in works for k in w.media_keys}
    if keys:
        known = {row.key: row.size for row in session.execute(select(MediaFile.key, MediaFile.size).where(MediaFile.key.in_(keys)))}
        for work in works:
            for attribute, _locale, _scope, data in iter_values({a: work.values[a] for a in structure.media_attributes if a in work.values}):
                if isinstance(data, str) and data in work.media_keys:
                    info = structure.attributes[attribute]
                    if data not in known:
                        work.errors.append(FieldError(f"values.{attribute}", f"Media file {data!r} does not exist; upload it first", ErrorCode.FILE))
                    elif info.max_file_size and known[data] > info.max_file_size:
                        work.errors.append(
                            FieldError(
                                f"values.{attribute}",
                                f"File {data!r} is {known[data]} bytes; {attribute!r} accepts at most {info.max_file_size}",
                                ErrorCode.FILE,
                            )
                        )
    # association targets (products of this batch count as existing)
    wanted = {code for w in works if w.associations for (_t, kind, code, _q) in w.associations if kind == "products"}
    wanted_models = {code for w in works if w.associations for (_t, kind, code, _q) in w.associations if kind == "product_models"}
    if wanted or wanted_models:
        wanted = {identifier_key(code) for code in wanted}
        in_batch = {w.key for w in works if not w.errors}
        found = set(session.scalars(select(Product.identifier_key).where(Product.identifier_key.in_(wanted)))) | (wanted & (in_batch | ahead))
        wanted_models = {identifier_key(code) for code in wanted_models}
        found_models = set(session.scalars(select(ProductModel.code_key).where(ProductModel.code_key.in_(wanted_models))))
        for work in works:
            for _type, kind, code, _q in work.associations or ():
                if identifier_key(code) not in (found if kind == "products" else found_models):
                    what = "Product" if kind == "products" else "Product model"
                    work.errors.append(FieldError(f"associations.{kind}", f"{what} {code!r} does not exist", ErrorCode.UNKNOWN))


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def search_text_of(identifier: str, family: FamilyInfo | None, effective: Mapping[str, Any]) -> str:
    """Return the text full-text search looks in: the identifier and the labels in every locale."""
    parts = [identifier]
    # "EL-100" is also "EL 100" and "EL100": PostgreSQL's parser keeps "-100" as one token.
    spaced = re.sub(r"[\W_]+", " ", identifier).strip()
    if spaced != identifier:
        parts.extend((spaced, spaced.replace(" ", "")))
    if family is not None and family.attribute_as_label:
        for by_locale in effective.get(family.attribute_as_label, {}).values():
            parts.extend(str(v) for v in by_locale.values())
    return " ".join(parts)


def _write(works: list[_Work], structure: Structure, actor: Actor) -> None:
    """Write validated products: one statement per table for the whole batch."""
    if works:
        new = sum(1 for w in works if w.existing is None)
        _store(_rows(works, structure, actor, allocate_ids("product", new) if new else []))


@dataclass
class _Rows:
    """What a batch writes, every value already converted for the driver: only I/O is left.

    `inserts` holds (table, columns, records), the new products first.
    """

    inserts: list[tuple[Table, Sequence[str], str | bytes | Sequence[Sequence[Any]]]]
    updates: list[dict[str, Any]]
    old_ids: list[int]
    facets: FacetBatch
    reassociated: list[int]  # stored products whose associations are written again
    search: list[tuple[int, str, bool]]
    first_new_id: int | None


def _rows(works: list[_Work], structure: Structure, actor: Actor, new_ids: Sequence[int], ahead: Mapping[str, int] | None = None) -> _Rows:
    """Build the rows of validated products, new ones taking `new_ids` in order.

    `ahead` maps the keys of the products a batch written before this one creates to their ids.
    """
    now = db.utcnow()
    calculator = CompletenessCalculator(structure)
    new = [w for w in works if w.existing is None]
    old = [w for w in works if w.existing is not None]
    for work, product_id in zip(new, new_ids, strict=True):
        work.product_id = product_id
        work.version = 1
    for work in old:
        work.product_id = work.existing.id
        work.version = work.existing.version + 1
    for work in works:
        work.search_text = search_text_of(work.identifier, work.family, work.effective)
    inserts: list[tuple[Table, Sequence[str], str | bytes | Sequence[Sequence[Any]]]] = []

    def insert_rows(table: Table, rows: list[dict[str, Any]]) -> None:
        names = list(rows[0]) if rows else []
        inserts.append((table, names, db.encode_records(table, names, [[row[name] for name in names] for row in rows])))

    def written(w: _Work) -> dict[str, Any]:
        """The product columns a write sets, new product or not."""
        return {
            "family_id": w.family.id if w.family else None,
            "parent_id": w.parent.id if w.parent else None,
            "axis_key": w.axis_key,
            "is_enabled": w.enabled,
            "values": w.values,
            "categories": w.categories,
            "search_text": w.search_text,
            "updated_at": now,
            "version": w.version,
        }

    insert_rows(
        Product.__table__,
        [
            {"id": w.product_id, "uuid": _uuid(w.input.uuid), "identifier": w.input.identifier, "identifier_key": w.key, "created_at": now, **written(w)}
            for w in new
        ],
    )
    updates = [{"b_id": w.existing.id, "b_version": w.existing.version, **written(w)} for w in old]
    insert_rows(ProductCategory.__table__, [{"product_id": w.product_id, "category_id": c} for w in works for c in w.category_ids])
    completeness_rows = []
    for work in works:
        if work.family is not None:
            completeness_rows.extend(calculator.rows(work.product_id, work.family, work.effective))
    insert_rows(Completeness.__table__, completeness_rows)
    insert_rows(UniqueValue.__table__, [{"attribute_id": a, "value": v, "product_id": w.product_id} for w in works for a, _c, v in w.unique_values])
    facets = FacetBatch(structure.attributes.values())
    for work in works:
        facets.add(work.product_id, work.values, [(model.id, model.values) for model in work.chain])
    facets.prepare([w.product_id for w in old])
    insert_rows(ProductAssociation.__table__, _association_rows(works, ahead or {}))
    insert_rows(Version.__table__, version_rows("product", ((w.product_id, w.identifier, w.version, w.changes) for w in works), actor=actor, logged_at=now))
    return _Rows(
        inserts=inserts,
        updates=updates,
        old_ids=[w.product_id for w in old],
        facets=facets,
        reassociated=[w.product_id for w in old if w.associations is not None],
        search=[(w.product_id, w.search_text, w.existing is not None) for w in works],
        first_new_id=new[0].product_id if new else None,
    )


def _store(rows: _Rows) -> None:
    """Write a batch's rows in the current transaction."""
    from pim.catalog.search import index_products

    product, *derived = rows.inserts
    db.write_encoded(*product)
    if rows.updates:
        statement = update(Product.__table__).where(Product.__table__.c.id == bindparam("b_id"), Product.__table__.c.version == bindparam("b_version"))
        result = db.session.connection().execute(statement, rows.updates)
        if result.rowcount != len(rows.updates):
            raise _StaleWrite()
    # an updated product's derived rows are written again whole (facets: only those that changed)
    delete_derived_rows(rows.old_ids, (ProductCategory, Completeness, UniqueValue))
    for chunk in _chunks(rows.reassociated, 900):
        db.session.execute(delete(ProductAssociation).where(ProductAssociation.owner_id.in_(chunk)))
    for table, names, data in derived:
        db.write_encoded(table, names, data)
    rows.facets.save(rows.old_ids)
    index_products(rows.search)


def delete_derived_rows(
    product_ids: Sequence[int],
    tables: Sequence[Any] = (ProductCategory, Completeness, UniqueValue, ProductFacet, ProductNumber, ProductText, ProductLongText),
) -> None:
    """Delete what the write path derived from some products: categories, completeness, unique values, facets."""
    for chunk in _chunks(product_ids, 900):
        for table in tables:
            db.session.execute(delete(table).where(table.product_id.in_(chunk)))


def allocate_ids(table: str, count: int, *, after: int = 0) -> list[int]:
    """Reserve `count` primary keys of a table, so a batch is inserted without RETURNING.

    On SQLite the write transaction holds the database lock, so the next ids are free until
    it commits (`after`: ids up to it are taken by a write not committed yet); on PostgreSQL
    they come from the table's sequence.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return list(
            connection.execute(
                text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"),  # noqa: S608
                {"n": count},
            ).scalars()
        )
    start = max(connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one(), after)  # noqa: S608
    return list(range(start + 1, start + 1 + count))


def _uuid(value: Any) -> uuid_module.UUID:
    if value in (None, ""):
        return db.new_uuid()
    return value if isinstance(value, uuid_module.UUID) else uuid_module.UUID(str(value))


def _association_rows(works: list[_Work], ahead: Mapping[str, int]) -> list[dict[str, Any]]:
    """Return the association rows of the products given associations, their targets found by identifier or model code.

    `ahead` maps the keys of products a batch written before this one creates to their ids.
    """
    session = db.session
    in_batch = {w.key: w.product_id for w in works if w.existing is None}
    works = [w for w in works if w.associations is not None]
    product_codes = {identifier_key(c) for w in works for (_t, kind, c, _q) in w.associations or () if kind == "products"}
    model_codes = {identifier_key(c) for w in works for (_t, kind, c, _q) in w.associations or () if kind == "product_models"}
    product_ids = {key: ahead.get(key) or in_batch[key] for key in product_codes if key in ahead or key in in_batch}
    stored = product_codes - product_ids.keys()
    if stored:
        product_ids.update(session.execute(select(Product.identifier_key, Product.id).where(Product.identifier_key.in_(stored))).all())
    model_ids = dict(session.execute(select(ProductModel.code_key, ProductModel.id).where(ProductModel.code_key.in_(model_codes))).all()) if model_codes else {}
    rows = []
    for work in works:
        seen = set()
        for type_id, kind, code, quantity in work.associations or ():
            target = identifier_key(code)
            if (type_id, kind, target) in seen:
                continue
            seen.add((type_id, kind, target))
            target_id = (product_ids if kind == "products" else model_ids).get(target)
            if target_id is None:
                what = "Product" if kind == "products" else "Product model"
                raise _MissingTarget(work, FieldError(f"associations.{kind}", f"{what} {code!r} does not exist", ErrorCode.UNKNOWN))
            rows.append(
                {
                    "owner_id": work.product_id,
                    "association_type_id": type_id,
                    "target_product_id": target_id if kind == "products" else None,
                    "target_model_id": target_id if kind == "product_models" else None,
                    "quantity": quantity,
                }
            )
    return rows


def associations_of(product_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Return the associations of products in the standard format, by product id."""
    from pim.structure.models import AssociationType

    session = db.session
    result: dict[int, dict[str, Any]] = {i: {} for i in product_ids}
    if not product_ids:
        return result
    target = Product.__table__.alias("target")
    rows = session.execute(
        select(
            ProductAssociation.owner_id,
            AssociationType.code,
            AssociationType.is_quantified,
            target.c.identifier,
            ProductModel.code,
            ProductAssociation.quantity,
        )
        .join(AssociationType, AssociationType.id == ProductAssociation.association_type_id)
        .outerjoin(target, target.c.id == ProductAssociation.target_product_id)
        .outerjoin(ProductModel, ProductModel.id == ProductAssociation.target_model_id)
        .where(ProductAssociation.owner_id.in_(product_ids))
        .order_by(ProductAssociation.id)
    )
    for owner_id, type_code, is_quantified, product_code, model_code, quantity in rows:
        entry = result[owner_id].setdefault(type_code, {})
        kind, code = ("products", product_code) if product_code is not None else ("product_models", model_code)
        entry.setdefault(kind, []).append({"identifier": code, "quantity": quantity} if is_quantified else code)
    return result


# --- single product services ---------------------------------------------------------------


def _raise_for(result: ItemResult) -> None:
    if result.status != "rejected":
        return
    if result.is_conflict:
        raise Conflict(result.errors[0].message)
    raise Invalid([FieldError(e.field, f"Product {result.identifier!r}: {e.message}", e.code, e.row, e.column) for e in result.errors])


def save_product(item: ProductInput, *, actor: Actor) -> ItemResult:
    """Create or update one product (a batch of one); raise Invalid or Conflict when refused."""
    report = upsert_products([item], actor=actor, keep_results=True)
    assert report.results is not None
    result = report.results[0]
    _raise_for(result)
    return result


def create_product(identifier: str, *, actor: Actor, **fields: Any) -> ItemResult:
    """Create a product; refuse an identifier that exists."""
    holder = db.session.scalar(select(Product.identifier).where(Product.identifier_key == identifier_key(identifier)))
    if holder is not None:
        raise Conflict(f"Product {identifier!r} already exists" if holder == identifier else f"Product {identifier!r} already exists as {holder!r}")
    return save_product(ProductInput(identifier=identifier, **fields), actor=actor)


def update_product(identifier: str, *, actor: Actor, **fields: Any) -> ItemResult:
    """Update an existing product with Akeneo's PATCH rules; refuse a stale `version`."""
    get_product(identifier)
    return save_product(ProductInput(identifier=identifier, **fields), actor=actor)


def get_product(identifier: str) -> Product:
    """Return a product by identifier; raise NotFound."""
    product = db.session.scalar(select(Product).where(Product.identifier_key == identifier_key(identifier)))
    if product is None:
        raise NotFound(f"Product {identifier!r} does not exist")
    return product


def delete_product(identifier: str, *, actor: Actor) -> None:
    """Delete a product; its history stays, ending with a version that records the deletion."""
    from pim.catalog.search import unindex_products

    with db.transaction() as session:
        product = get_product(identifier)
        changes = {key: {"old": data, "new": None} for key, data in flatten(product.values).items()}
        changes["deleted"] = {"old": False, "new": True}
        record_versions("product", [(product.id, product.identifier, product.version + 1, changes)], actor=actor)
        unindex_products([product.id])
        delete_derived_rows([product.id])
        session.delete(product)


# --- product models -------------------------------------------------------------------------


@dataclass
class ProductModelInput:
    """A change to one product model in the standard format (PATCH rules as for products)."""

    code: str
    family_variant: Any = UNSET
    parent: Any = UNSET
    values: Mapping[str, Any] = field(default_factory=dict)
    categories: Any = UNSET
    version: int | None = None


def save_product_model(item: ProductModelInput, *, actor: Actor) -> ProductModel:
    """Create or update one product model; raise Invalid or Conflict when refused."""
    result = save_product_models([item], actor=actor)[0]
    if result.status == "rejected":
        if result.is_conflict:
            raise Conflict(result.errors[0].message)
        raise Invalid([FieldError(e.field, f"Product model {item.code!r}: {e.message}", e.code) for e in result.errors])
    return get_product_model(item.code)


@dataclass
class _ModelWork:
    input: ProductModelInput
    existing: Any = None
    parent: Any = None
    variant: FamilyVariantInfo | None = None
    level: int = 0
    values: dict[str, Any] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    axis_key: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    model_id: int | None = None
    version: int = 1


_MODEL_COLUMNS = (
    ProductModel.id,
    ProductModel.code,
    ProductModel.family_variant_id,
    ProductModel.parent_id,
    ProductModel.values,
    ProductModel.categories,
    ProductModel.version,
    ProductModel.axis_key,
)


def save_product_models(items: Sequence[ProductModelInput], *, actor: Actor) -> list[ItemResult]:
    """Create or update product models in one transaction; root models are written before sub-models.

    When a model's values or categories change, its variants' completeness, inherited
    categories and search text are recomputed in the same transaction. A model given twice
    (in any case) is written twice, in order.
    """
    results: dict[int, ItemResult] = {}
    with db.transaction():
        structure = get_structure()
        for run in _runs_without_repeats(list(enumerate(items))):
            roots = [(i, item) for i, item in run if item.parent in (UNSET, None, "")]
            subs = [(i, item) for i, item in run if item.parent not in (UNSET, None, "")]
            for group in (roots, subs):
                if group:
                    for index, result in zip([i for i, _ in group], _save_model_group([item for _, item in group], structure, actor), strict=True):
                        results[index] = result
    return [results[i] for i in range(len(items))]


def _runs_without_repeats(items: list[tuple[int, ProductModelInput]]) -> Iterator[list[tuple[int, ProductModelInput]]]:
    """Cut the models into runs in which no code comes twice."""
    run: list[tuple[int, ProductModelInput]] = []
    seen: set[str] = set()
    for index, item in items:
        key = identifier_key(item.code) if isinstance(item.code, str) else repr(item.code)
        if key in seen:
            yield run
            run, seen = [], set()
        run.append((index, item))
        seen.add(key)
    if run:
        yield run


def _save_model_group(items: list[ProductModelInput], structure: Structure, actor: Actor) -> list[ItemResult]:
    session = db.session
    keys = [identifier_key(i.code) for i in items if isinstance(i.code, str)]
    existing = {identifier_key(r.code): r for r in session.execute(select(*_MODEL_COLUMNS).where(ProductModel.code_key.in_(keys)))}
    parent_keys = {identifier_key(i.parent) for i in items if isinstance(i.parent, str) and i.parent}
    parent_ids = {r.parent_id for r in existing.values() if r.parent_id}
    parents_by_code = (
        {identifier_key(r.code): r for r in session.execute(select(*_MODEL_COLUMNS).where(ProductModel.code_key.in_(parent_keys)))} if parent_keys else {}
    )
    parents_by_id = {r.id: r for r in session.execute(select(*_MODEL_COLUMNS).where(ProductModel.id.in_(parent_ids)))} if parent_ids else {}
    category_codes = {c for i in items if isinstance(i.categories, list) for c in i.categories if isinstance(c, str)}
    known_categories = set(session.scalars(select(Category.code).where(Category.code.in_(category_codes)))) if category_codes else set()
    works = []
    for item in items:
        work = _ModelWork(item, existing.get(identifier_key(item.code)) if isinstance(item.code, str) else None)
        _build_model(work, structure, parents_by_code, parents_by_id, known_categories)
        works.append(work)
    _check_model_axes([w for w in works if not w.errors and w.changes])
    valid = [w for w in works if not w.errors and w.changes]
    if valid:
        _write_models(valid, actor)
    results = []
    for work in works:
        if work.errors:
            results.append(ItemResult(work.input.code, "rejected", work.errors, is_conflict=any(e.code == ErrorCode.STALE for e in work.errors)))
        elif not work.changes:
            results.append(ItemResult(work.input.code, "unchanged", product_id=work.existing.id, version=work.existing.version))
        else:
            results.append(ItemResult(work.input.code, "updated" if work.existing is not None else "created", product_id=work.model_id, version=work.version))
    return results


def _build_model(work: _ModelWork, structure: Structure, parents_by_code: dict[str, Any], parents_by_id: dict[int, Any], known_categories: set[str]) -> None:
    item, model = work.input, work.existing
    problem = _check_identifier(item.code)
    if problem:
        work.errors.append(FieldError("code", problem.replace("identifier (SKU)", "code").replace("Identifier", "Code"), ErrorCode.REQUIRED))
        return
    if model is not None and item.version is not None and item.version != model.version:
        work.errors.append(FieldError("version", f"Product model {item.code!r} was changed by someone else meanwhile; reload it", ErrorCode.STALE))
        return
    parent = None
    if item.parent not in (UNSET, None, ""):
        parent = parents_by_code.get(identifier_key(item.parent)) if isinstance(item.parent, str) else None
        if parent is None:
            work.errors.append(FieldError("parent", f"Product model {item.parent!r} does not exist", ErrorCode.UNKNOWN))
            return
        if parent.parent_id is not None:
            work.errors.append(FieldError("parent", f"Product model {item.parent!r} is a sub-model; models nest two levels at most", ErrorCode.NOT_AT_LEVEL))
            return
    elif model is not None and item.parent is UNSET and model.parent_id is not None:
        parent = parents_by_id.get(model.parent_id)
    if model is not None and (parent.id if parent is not None else None) != model.parent_id:
        work.errors.append(FieldError("parent", "A product model cannot change its parent", ErrorCode.INVALID_FORMAT))
        return
    if parent is not None:
        variant = structure.family_variants_by_id[parent.family_variant_id]
        if item.family_variant not in (UNSET, None, "", variant.code):
            work.errors.append(FieldError("family_variant", f"A sub-model of {parent.code!r} uses family variant {variant.code!r}", ErrorCode.NOT_IN_FAMILY))
            return
        if variant.level_count < 2:
            work.errors.append(FieldError("parent", f"Family variant {variant.code!r} has one level: no sub-models", ErrorCode.NOT_AT_LEVEL))
            return
        level = 1
    else:
        code = item.family_variant if item.family_variant is not UNSET else None
        if model is not None:
            current = structure.family_variants_by_id[model.family_variant_id].code
            if code not in (None, current):
                work.errors.append(FieldError("family_variant", "A product model cannot change its family variant", ErrorCode.INVALID_FORMAT))
                return
            code = current
        if not code or code not in structure.family_variants:
            work.errors.append(FieldError("family_variant", f"Family variant {code!r} does not exist", ErrorCode.UNKNOWN))
            return
        variant = structure.family_variants[code]
        level = 0
    work.parent, work.variant, work.level = parent, variant, level
    family = structure.families[variant.family]
    if level == 0:
        allowed = family.attributes - frozenset().union(*(lv.attributes for lv in variant.levels))
    else:
        allowed = variant.levels[0].attributes
    work.values = copy_raw(model.values) if model is not None else {}
    ctx = ValueContext(structure)
    work.errors.extend(apply_values(work.values, item.values, ctx, allowed=allowed, level_name=f"level {level} of {variant.code!r}"))
    work.categories = list(model.categories) if model is not None else []
    if item.categories is not UNSET:
        if not isinstance(item.categories, list):
            work.errors.append(FieldError("categories", "expects a list of category codes", ErrorCode.INVALID_TYPE))
        else:
            work.errors.extend(
                FieldError("categories", f"Category {c!r} does not exist", ErrorCode.UNKNOWN) for c in item.categories if c not in known_categories
            )
            work.categories = list(dict.fromkeys(item.categories))
    if level == 1:
        work.axis_key = axis_key_of(work.values, variant.levels[0].axes, work.errors)
    if work.errors:
        return
    old_flat = flatten(model.values) if model is not None else {}
    new_flat = flatten(work.values)
    changes = {k: {"old": old_flat.get(k), "new": new_flat.get(k)} for k in old_flat.keys() | new_flat.keys() if old_flat.get(k) != new_flat.get(k)}
    if model is None:
        changes["code"] = {"old": None, "new": item.code}
        changes["family_variant"] = {"old": None, "new": variant.code}
        if parent is not None:
            changes["parent"] = {"old": None, "new": parent.code}
    old_categories = list(model.categories) if model is not None else []
    if old_categories != work.categories:
        changes["categories"] = {"old": old_categories, "new": work.categories}
    work.changes = changes


def _check_model_axes(works: list[_ModelWork]) -> None:
    axes: dict[tuple[int, str], _ModelWork] = {}
    for work in works:
        if work.level != 1:
            continue
        key = (work.parent.id, work.axis_key or "")
        if key in axes:
            work.errors.append(
                FieldError(
                    "parent", f"Sub-model {axes[key].input.code!r} of {work.parent.code!r} already has the axis values {work.axis_key}", ErrorCode.AXIS_TAKEN
                )
            )
            continue
        axes[key] = work
    parent_ids = sorted({parent_id for parent_id, _key in axes})
    for chunk in _chunks(parent_ids, 900):
        for parent_id, axis_key, code in db.session.execute(
            select(ProductModel.parent_id, ProductModel.axis_key, ProductModel.code).where(ProductModel.parent_id.in_(chunk))
        ):
            work = axes.get((parent_id, axis_key))
            if work is not None and identifier_key(code) != identifier_key(work.input.code):
                work.errors.append(
                    FieldError("parent", f"Sub-model {code!r} of {work.parent.code!r} already has the axis values {axis_key}", ErrorCode.AXIS_TAKEN)
                )


def _write_models(works: list[_ModelWork], actor: Actor) -> None:
    works = [w for w in works if not w.errors]
    if not works:
        return
    connection = db.session.connection()
    table = ProductModel.__table__
    now = db.utcnow()
    new = [w for w in works if w.existing is None]
    old = [w for w in works if w.existing is not None]
    if new:
        rows = [
            {
                "code": w.input.code,
                "code_key": identifier_key(w.input.code),
                "family_variant_id": w.variant.id,
                "parent_id": w.parent.id if w.parent is not None else None,
                "axis_key": w.axis_key,
                "values": w.values,
                "categories": w.categories,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for w in new
        ]
        ids = connection.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
        for work, model_id in zip(new, ids, strict=True):
            work.model_id, work.version = model_id, 1
    if old:
        rows = [
            {
                "b_id": w.existing.id,
                "b_version": w.existing.version,
                "values": w.values,
                "categories": w.categories,
                "axis_key": w.axis_key,
                "updated_at": now,
                "version": w.existing.version + 1,
            }
            for w in old
        ]
        result = connection.execute(update(table).where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version")), rows)
        if result.rowcount != len(rows):
            raise Conflict("A product model was changed by someone else meanwhile; reload it and apply your change again")
        for work in old:
            work.model_id, work.version = work.existing.id, work.existing.version + 1
    save_model_texts(((w.model_id, w.values) for w in works), get_structure().attributes.values(), [w.model_id for w in old])
    record_versions(
        "product_model",
        ((w.model_id, w.existing.code if w.existing is not None else w.input.code, w.version, w.changes) for w in works),
        actor=actor,
        logged_at=now,
    )
    if old:
        recompute_completeness(model_ids=[w.model_id for w in old])


def get_product_model(code: str) -> ProductModel:
    """Return a product model by code; raise NotFound."""
    model = db.session.scalar(select(ProductModel).where(ProductModel.code_key == identifier_key(code)))
    if model is None:
        raise NotFound(f"Product model {code!r} does not exist")
    return model


def delete_product_model(code: str, *, actor: Actor) -> None:
    """Delete a product model that has no sub-models or variants; otherwise say how many it has."""
    from sqlalchemy import func

    with db.transaction() as session:
        model = get_product_model(code)
        children = session.scalar(select(func.count()).select_from(ProductModel).where(ProductModel.parent_id == model.id))
        variants = session.scalar(select(func.count()).select_from(Product).where(Product.parent_id == model.id))
        if children or variants:
            raise Conflict(f"Product model {code!r} has {children} sub-models and {variants} variant products; delete them first")
        record_versions("product_model", [(model.id, model.code, model.version + 1, {"deleted": {"old": False, "new": True}})], actor=actor)
        session.execute(delete(ModelLongText).where(ModelLongText.model_id == model.id))
        session.delete(model)


# --- recomputing what depends on structure or models ---------------------------------------


def recompute_completeness(
    *,
    family_ids: Sequence[int] | None = None,
    channel_ids: Sequence[int] | None = None,
    model_ids: Sequence[int] | None = None,
    product_ids: Sequence[int] | None = None,
    batch_size: int = 2000,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Recompute completeness, inherited categories and search text of the products affected.

    Products are read by keyset pages, so the work is proportional to the products concerned
    (a family's, a model's variants), never the whole catalogue unless a channel changed.
    Each page is its own transaction (inside a caller's transaction, a savepoint), and
    `on_batch` hears how many products are done after each. Returns how many were recomputed.
    """
    session = db.session
    structure = get_structure()
    calculator = CompletenessCalculator(structure)
    lookups = _Lookups()
    condition = Product.family_id.is_not(None)
    if family_ids is not None:
        condition = Product.family_id.in_(family_ids)
    if model_ids is not None:
        sub_models = select(ProductModel.id).where(ProductModel.parent_id.in_(model_ids))
        condition = Product.parent_id.in_(model_ids) | Product.parent_id.in_(sub_models)
    if product_ids is not None:
        condition = Product.id.in_(product_ids)
    channel_filter = set(channel_ids) if channel_ids is not None else None
    last_id = 0
    total = 0
    while True:
        with db.transaction():
            rows = session.execute(
                select(Product.id, Product.identifier, Product.family_id, Product.parent_id, Product.values, Product.categories)
                .where(condition, Product.id > last_id)
                .order_by(Product.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            last_id = rows[-1].id
            ids = [r.id for r in rows]
            lookups.trim()
            lookups.load_models(ids={r.parent_id for r in rows if r.parent_id})
            completeness_rows = []
            category_rows = []
            search_rows = []
            facets = FacetBatch(structure.attributes.values())
            for row in rows:
                effective = row.values
                inherited: list[str] = []
                chain = lookups.chain(lookups.models_by_id[row.parent_id]) if row.parent_id is not None else []
                if chain:
                    effective = {}
                    for model in chain:
                        effective.update(model.values)
                        inherited.extend(model.categories)
                    effective.update(row.values)
                family = structure.families_by_id.get(row.family_id) if row.family_id else None
                if family is not None:
                    completeness_rows.extend(
                        c for c in calculator.rows(row.id, family, effective) if channel_filter is None or c["channel_id"] in channel_filter
                    )
                if model_ids is not None:
                    lookups.load_categories([*row.categories, *inherited])
                    for category_id in {lookups.categories[c][0] for c in [*row.categories, *inherited] if c in lookups.categories}:
                        category_rows.append({"product_id": row.id, "category_id": category_id})
                    search_rows.append((row.id, search_text_of(row.identifier, family, effective), True))
                    facets.add(row.id, row.values, [(model.id, model.values) for model in chain])
            stale = delete(Completeness).where(Completeness.product_id.in_(ids))
            if channel_filter is not None:
                stale = stale.where(Completeness.channel_id.in_(channel_filter))
            session.execute(stale)
            if completeness_rows:
                db.bulk_insert(Completeness.__table__, completeness_rows)
            if model_ids is not None:
                session.execute(delete(ProductCategory).where(ProductCategory.product_id.in_(ids)))
                if category_rows:
                    db.bulk_insert(ProductCategory.__table__, category_rows)
                session.execute(
                    update(Product.__table__).where(Product.__table__.c.id == bindparam("b_id")),
                    [{"b_id": pid, "search_text": text} for pid, text, _ in search_rows],
                )
                from pim.catalog.search import index_products

                index_products(search_rows)
                facets.prepare(ids)
                facets.save(ids)
            total += len(rows)
        if on_batch is not None:
            on_batch(total)
    return total


# --- history ------------------------------------------------------------------------------


def revert_product(identifier: str, version: int, *, actor: Actor) -> ItemResult:
    """Bring a product back to its state at an earlier version, through the normal write path.

    The revert is itself a new version, validated like any change: a value that is no longer
    valid (an option since deleted) refuses the revert with a clear error.
    """
    session = db.session
    product = get_product(identifier)
    later = session.scalars(
        select(Version).where(Version.resource_type == "product", Version.resource_id == product.id, Version.version > version).order_by(Version.version.desc())
    ).all()
    if version < 1 or version > product.version:
        raise NotFound(f"Product {identifier!r} has no version {version}")
    state = flatten(product.values)
    fields: dict[str, Any] = {}
    for entry in later:
        for key, change in entry.changes.items():
            if "|" in key:
                state[key] = change["old"]
            elif key in ("enabled", "family", "parent", "categories"):
                fields[key] = change["old"]
            elif key == "associations":
                fields["associations"] = change["old"]
    current = flatten(product.values)
    values: dict[str, list[dict[str, Any]]] = {}
    for key in current.keys() | state.keys():
        if current.get(key) != state.get(key):
            attribute, locale, scope = split_key(key)
            values.setdefault(attribute, []).append({"locale": locale, "scope": scope, "data": state.get(key)})
    item = ProductInput(identifier=identifier, values=values, version=product.version)
    if "enabled" in fields and fields["enabled"] is not None:
        item.enabled = fields["enabled"]
    if "family" in fields:
        item.family = fields["family"]
    if "parent" in fields:
        item.parent = fields["parent"]
    if "categories" in fields:
        item.categories = fields["categories"] or []
    if "associations" in fields:
        association_types = get_structure().association_types
        old = fields["associations"] or {}
        item.associations = {k: v for k, v in old.items() if not association_types.get(k, (0, False))[1]}
        item.quantified_associations = {k: v for k, v in old.items() if association_types.get(k, (0, False))[1]}
    return save_product(item, actor=Actor(actor.name, Source.REVERT, actor.job_id))


__all__ = [
    "ItemResult",
    "ProductInput",
    "ProductModelInput",
    "UNSET",
    "UpsertReport",
    "associations_of",
    "create_product",
    "delete_product",
    "delete_product_model",
    "get_product",
    "get_product_model",
    "recompute_completeness",
    "revert_product",
    "save_product",
    "save_product_model",
    "save_product_models",
    "update_product",
    "upsert_products",
]
