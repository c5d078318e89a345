"""Run an export profile: select, resolve, gate, check, write, publish atomically.

One resolve step serves every format: a product becomes a channel-resolved `Record` (values
read in the profile's locale and currency through the channel's fallback chain, inherited from
its models, mapped and transformed by the compiled definition). A product not complete for the
channel and locale, or breaking a rule of the channel, is skipped and reported with the reason.
The feed is written into a hidden folder beside the published ones and renamed into place only
when the whole feed was written, so a crash never leaves a truncated public file.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import hashlib
import logging
import os
import pickle
import queue
import shutil
import string
import subprocess
import sys
import threading
import time
import traceback
import uuid as uuid_module
from collections import Counter, deque
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol

import orjson
from flask import current_app
from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from exporters import get_format
from exporters.base import FeedFormat, FeedSettings, Measure, Money, Param, Problem, Record, RecordGroup
from pim import db
from pim.catalog.jobs import settle_completeness
from pim.catalog.media import media_root
from pim.catalog.models import Category, Completeness, Product, ProductCategory, ProductModel, identifier_key
from pim.catalog.queries import ProductQuery, select_products
from pim.collector import BULK_GC_THRESHOLD, fewer_collections
from pim.errors import ErrorCode, Invalid, NotFound
from pim.publishing.definition import CategoryView, CompileContext, Definition, ProductView, compile_record, read_definition
from pim.publishing.models import ExportProfile, ExportRun, PublishedRecord
from pim.publishing.renditions import ensure_renditions
from pim.structure.models import Attribute, AttributeOption
from pim.structure.snapshot import FamilyVariantInfo, Structure, get_structure
from pim.versioning.services import value_history

logger = logging.getLogger(__name__)

BATCH = 1000
TEMP_PREFIX = ".tmp-"
RENDITION_WORKERS = max(2, os.cpu_count() or 2)


class Progress(Protocol):
    """What an export reports to the job running it."""

    def progress(self, done: int, total: int | None = None) -> None: ...

    def check_cancelled(self) -> None: ...


class _Quiet:
    def progress(self, done: int, total: int | None = None) -> None:
        return None

    def check_cancelled(self) -> None:
        return None


@dataclass
class Skip:
    """Why one product is not in the feed."""

    sku: str
    reason: str
    field: str
    message: str


@dataclass
class ExportResult:
    """What an export run did: where it published, how many products went in, which were skipped."""

    run_id: int
    profile: str
    folder: Path | None
    files: list[dict[str, Any]]
    exported: int
    skipped: int
    unchanged: int
    deleted: int
    reasons: dict[str, int]
    report_path: Path | None
    is_delta: bool
    output: Path | None = None
    pushed: list[str] = field(default_factory=list)
    warnings: int = 0
    warning_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the result as plain data for `--json` and job counts."""
        return {
            "run": self.run_id,
            "profile": self.profile,
            "folder": str(self.folder) if self.folder else None,
            "files": self.files,
            "exported": self.exported,
            "skipped": self.skipped,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "reasons": self.reasons,
            "warnings": self.warnings,
            "warning_reasons": self.warning_reasons,
            "report": str(self.report_path) if self.report_path else None,
            "delta": self.is_delta,
            "output": str(self.output) if self.output else None,
            "pushed": self.pushed,
        }


def feeds_root() -> Path:
    """Return the folder that holds every profile's published feeds."""
    return Path(current_app.config.get("FEEDS_PATH") or Path(current_app.instance_path) / "feeds")


def profile_folder(code: str) -> Path:
    """Return the folder of one profile's published runs."""
    return feeds_root() / code


def get_profile(code: str) -> ExportProfile:
    """Return an export profile by code; raise NotFound."""
    profile = db.session.scalar(select(ExportProfile).where(ExportProfile.code == code))
    if profile is None:
        raise NotFound(f"Export profile {code!r} does not exist")
    return profile


def load_definition(profile: ExportProfile, structure: Structure | None = None) -> tuple[Definition, FeedFormat]:
    """Return a profile's checked definition and its format; Invalid lists what no longer holds."""
    structure = structure or get_structure()
    try:
        feed_format = get_format(profile.format)
    except KeyError:
        feed_format = None
    definition, errors = read_definition(profile.definition, structure, feed_format)
    if errors or definition is None or feed_format is None:
        raise Invalid(errors)
    return definition, feed_format


# --- the resolve step ---------------------------------------------------------------------


class _Model(NamedTuple):
    id: int
    code: str
    parent_id: int | None
    family_variant_id: int | None
    values: dict[str, Any]
    categories: list[str]


class _Models:
    """Product models read per batch, each with its parent chain, for value inheritance."""

    def __init__(self) -> None:
        self.by_id: dict[int, _Model] = {}
        self._read = _ByIds(select(*(getattr(ProductModel, name) for name in _Model._fields)), ProductModel.id)

    def load(self, ids: set[int]) -> None:
        wanted = {i for i in ids if i not in self.by_id}
        while wanted:
            parents = set()
            for row in self._read.rows(sorted(wanted)):
                model = _Model(*row)
                self.by_id[model.id] = model
                if model.parent_id is not None and model.parent_id not in self.by_id:
                    parents.add(model.parent_id)
            wanted = parents

    def chain(self, model_id: int) -> list[_Model]:
        """Return the model and its ancestors, root first."""
        chain = []
        step = self.by_id.get(model_id)
        while step is not None:
            chain.append(step)
            step = self.by_id.get(step.parent_id) if step.parent_id is not None else None
        chain.reverse()
        return chain

    def trim(self) -> None:
        # models are read in id order with their variants, so a small cache keeps almost every
        # hit; a big one holds the values of tens of thousands of models in memory
        if len(self.by_id) > 4000:
            self.by_id.clear()


class Resolver:
    """Turn products into channel-resolved records for one profile; compiled once per run."""

    def __init__(self, profile: ExportProfile, definition: Definition, feed_format: FeedFormat, structure: Structure, now: dt.datetime | None = None):
        self.profile = profile
        self.definition = definition
        self.format = feed_format
        self.structure = structure
        self.channel = structure.channels[definition.channel]
        self.locale_id = structure.locales[definition.locale]
        option_labels: dict[tuple[str, str], dict[str, str]] = {}
        for attribute_code, option_code, labels in db.session.execute(
            select(Attribute.code, AttributeOption.code, AttributeOption.labels).join(Attribute, Attribute.id == AttributeOption.attribute_id)
        ):
            option_labels[(attribute_code, option_code)] = labels or {}
        self.context = CompileContext(
            structure=structure,
            locale=definition.locale,
            currency=definition.currency,
            scopes=self.channel.scopes or (self.channel.code,),
            option_labels=option_labels,
            base_url=definition.base_url,
            media_url=definition.media_url or str(current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/") + "/media",
            renditions=definition.renditions,
            media_root=media_root(),
            now=now or dt.datetime.now(dt.UTC),
        )
        self.renditions = definition.renditions
        self._record_fields = compile_record(definition.fields, self.context)
        shown = self.context.properties
        # a row: the columns of _ROW_COLUMNS, then those of the properties the fields show, in that order
        properties = [name for name in _PROPERTY_COLUMNS if name in shown]
        self.row_columns = (*_ROW_COLUMNS, *(_PROPERTY_COLUMNS[name] for name in properties))
        self._property_at = {name: index for index, name in enumerate(properties)}
        self._read_rows = _ByIds(select(*self.row_columns), Product.id)
        self._read_categories = _ByIds(select(ProductCategory.product_id, ProductCategory.category_id), ProductCategory.product_id)
        self._read_incomplete = _ByIds(
            # `+ 0`: a batch's rows are found by their key's product range; on the channel and
            # locale, SQLite would walk every incomplete product of the channel for each batch
            select(Completeness.product_id, Completeness.missing_attributes).where(
                Completeness.channel_id + 0 == self.channel.id, Completeness.locale_id + 0 == self.locale_id
            ),
            Completeness.product_id,
        )
        # a product model's own fields: what describes the sellable item (its SKU, dates) is left out
        self._group_fields = compile_record({name: spec for name, spec in definition.fields.items() if not _is_item_property(spec)}, self.context)
        self.categories = self._load_categories()
        self.models = _Models()
        self._axis_fields: dict[int, tuple[str, ...]] = {}
        self._categories_by_code: dict[str, CategoryView] | None = None

    def _load_categories(self) -> dict[int, CategoryView]:
        """Read the channel's tree once: labels in the locale, label paths and inherited mappings."""
        tree_id = self.channel.category_tree_id
        rows = list(
            db.session.execute(
                select(Category.id, Category.code, Category.parent_id, Category.labels, Category.level, Category.sort_order)
                .where((Category.id == tree_id) | Category.path.like(f"/{tree_id}/%"))
                .order_by(Category.level, Category.sort_order, Category.code)
            )
        )
        locale = self.definition.locale
        mapping = self.definition.category_mapping
        views: dict[int, CategoryView] = {}
        self.tree: list[tuple[str, str | None, str]] = []
        children: dict[int | None, list[Any]] = {}
        for row in rows:
            children.setdefault(row.parent_id, []).append(row)

        def label(row: Any) -> str:
            labels = row.labels or {}
            return labels.get(locale) or labels.get("en_US") or next(iter(labels.values()), row.code)

        def walk(row: Any, parent: CategoryView | None) -> None:
            text = label(row)
            mapped = mapping.get(row.code, parent.mapped if parent else None)
            view = CategoryView(
                row.id, row.code, text, f"{parent.path} > {text}" if parent and parent.id != tree_id else text, mapped, parent.depth + 1 if parent else 0
            )
            views[row.id] = view
            if row.id != tree_id:
                self.tree.append((str(row.id), str(row.parent_id) if row.parent_id != tree_id else None, text))
            for child in sorted(children.get(row.id, []), key=lambda r: (r.sort_order, r.code)):
                walk(child, view)

        for root in children.get(None, []):
            if root.id == tree_id:
                walk(root, None)
        return views

    def rows(self, ids: list[int]) -> list[Any]:
        """Return the product rows of a batch of ids, in the batch's order (a product deleted meanwhile is left out)."""
        if not ids:
            return []
        wanted = set(ids)
        by_id = {row[0]: row for row in self._read_rows.rows(ids) if row[0] in wanted}
        return [by_id[product_id] for product_id in ids if product_id in by_id]

    def batch(self, rows: list[Any]) -> Iterator[tuple[int, ProductView, list[str] | None]]:
        """Yield (product id, view, missing attributes or None) for a batch of rows read by `rows`."""
        ids = [row[0] for row in rows]
        self.models.trim()
        self.models.load({row[3] for row in rows if row[3] is not None})
        tree_id = self.channel.category_tree_id
        categories: dict[int, list[CategoryView]] = {}
        for product_id, category_id in self._read_categories.rows(ids):
            view = self.categories.get(category_id)
            if view is not None and view.id != tree_id:
                categories.setdefault(product_id, []).append(view)
        incomplete: dict[int, list[str]] = {}
        if self.definition.require_complete:
            for product_id, missing in self._read_incomplete.rows(ids):
                incomplete[product_id] = list(missing or [])
        history = self._history(rows) if self.context.history_days else None
        families = self.structure.families_by_id
        uuid_at = self._property_at.get("uuid")
        created_at = self._property_at.get("created")
        updated_at = self._property_at.get("updated")
        # per parent model: its chain's values merged (root first), root code and number, own code
        inherited: dict[int, tuple[dict[str, Any], str | None, int | None, str | None]] = {}
        no_categories: list[CategoryView] = []
        for product_id, identifier, family_id, parent_id, values, is_enabled, *properties in rows:
            group = parent = None
            group_number = None
            if parent_id is not None:
                found = inherited.get(parent_id)
                if found is None:
                    chain = self.models.chain(parent_id)
                    merged: dict[str, Any] = {}
                    for model in chain:
                        merged.update(model.values)
                    found = (merged, chain[0].code, chain[0].id, chain[-1].code) if chain else (merged, None, None, None)
                    inherited[parent_id] = found
                values = {**found[0], **values}
                group, group_number, parent = found[1], found[2], found[3]
            family = families.get(family_id) if family_id else None
            views = categories.get(product_id, no_categories)
            if len(views) > 1:
                views.sort(key=_depth, reverse=True)
            view = ProductView(
                identifier,
                properties[uuid_at] if uuid_at is not None else "",
                values,
                family.code if family else None,
                group,
                group_number,
                parent,
                is_enabled,
                properties[created_at] if created_at is not None else None,
                properties[updated_at] if updated_at is not None else None,
                views,
            )
            if history is not None:
                view.history = self._history_of(history, product_id, parent_id)
            yield product_id, view, incomplete.get(product_id) if product_id in incomplete else None

    def _history(self, rows: list[Any]) -> dict[tuple[str, int], list[tuple[dt.datetime, dict[str, Any]]]]:
        """Load the recent changes of the attributes whose history a field reads, for a batch."""
        days = max(self.context.history_days.values())
        since = self.context.now - dt.timedelta(days=days)
        attributes = list(self.context.history_days)
        model_ids = {model.id for row in rows if row[3] is not None for model in self.models.chain(row[3])}
        history: dict[tuple[str, int], list[tuple[dt.datetime, dict[str, Any]]]] = {}
        for resource_type, ids in (("product", [row[0] for row in rows]), ("product_model", model_ids)):
            for resource_id, entries in value_history(resource_type, ids, attributes, since).items():
                history[(resource_type, resource_id)] = entries
        return history

    def _history_of(
        self, history: dict[tuple[str, int], list[tuple[dt.datetime, dict[str, Any]]]], product_id: int, parent_id: int | None
    ) -> dict[str, list[tuple[dt.datetime, dict[str, Any]]]]:
        """Return one product's changes (its models' included) per attribute, newest first."""
        entries = list(history.get(("product", product_id), []))
        if parent_id is not None:
            for model in self.models.chain(parent_id):
                entries.extend(history.get(("product_model", model.id), []))
        entries.sort(key=lambda entry: entry[0], reverse=True)
        by_attribute: dict[str, list[tuple[dt.datetime, dict[str, Any]]]] = {}
        for logged_at, olds in entries:
            for code in {key.split("|", 1)[0] for key in olds}:
                by_attribute.setdefault(code, []).append((logged_at, {k: v for k, v in olds.items() if k.startswith(code + "|")}))
        return by_attribute

    def groups(self, model_ids: set[int]) -> tuple[dict[int, RecordGroup], set[str]]:
        """Return an empty group per root product model (its own values resolved as fields, its
        variant axes as field names) and the images those fields show, to render with the batch's."""
        self.models.trim()
        self.models.load(model_ids)
        groups: dict[int, RecordGroup] = {}
        images: set[str] = set()
        for model_id in model_ids:
            model = self.models.by_id.get(model_id)
            if model is None:
                continue
            variant = self.structure.family_variants_by_id.get(model.family_variant_id)
            view = ProductView(
                sku=model.code,
                uuid="",
                values=model.values,
                family=variant.family if variant is not None else None,
                group=model.code,
                group_number=model.id,
                categories=self._category_views(model.categories),
            )
            groups[model_id] = RecordGroup(key=model.code, fields=self._group_fields(view), variants=[], axes=self._axes_of(variant))
            images.update(view.images)
        return groups, images

    def _axes_of(self, variant: FamilyVariantInfo | None) -> tuple[str, ...]:
        """Return the names of the fields that show a family variant's axes, level by level."""
        if variant is None:
            return ()
        if variant.id not in self._axis_fields:
            by_attribute: dict[str, list[str]] = {}
            for name, spec in self.definition.fields.items():
                if isinstance(spec, Mapping) and isinstance(spec.get("attribute"), str):
                    by_attribute.setdefault(spec["attribute"], []).append(name)
            self._axis_fields[variant.id] = tuple(name for level in variant.levels for axis in level.axes for name in by_attribute.get(axis, ()))
        return self._axis_fields[variant.id]

    def _category_views(self, codes: list[str]) -> list[CategoryView]:
        if self._categories_by_code is None:
            self._categories_by_code = {view.code: view for view in self.categories.values()}
        views = [view for view in (self._categories_by_code.get(code) for code in codes or ()) if view is not None and view.id != self.channel.category_tree_id]
        views.sort(key=_depth, reverse=True)
        return views

    def record(self, view: ProductView) -> Record:
        """Return the channel-resolved record of one product (empty values left out)."""
        return Record(key=view.sku, fields=self._record_fields(view), group=view.group, group_number=view.group_number)


def _depth(view: CategoryView) -> int:
    return view.depth


_ITEM_PROPERTIES = frozenset({"sku", "uuid", "parent", "parent_or_sku", "enabled", "created", "updated"})


def _is_item_property(spec: Any) -> bool:
    """Tell whether a field shows a property of the sellable item itself (its SKU, a page address
    made of it, its dates), which its product model has not."""
    if not isinstance(spec, Mapping):
        return False
    if spec.get("property") in _ITEM_PROPERTIES:
        return True
    templates = [spec[name] for name in ("url", "template") if isinstance(spec.get(name), str)]
    return any(name in _ITEM_PROPERTIES for template in templates for _text, name, _spec, _conv in string.Formatter().parse(template))


def _plain(value: Any) -> Any:
    if type(value) in _AS_IS:
        return value
    if isinstance(value, Money):
        return [str(value.amount), value.currency]
    if isinstance(value, Measure):
        return [str(value.amount), value.unit]
    if isinstance(value, Param):
        return [value.name, _plain(value.value), value.unit, value.id, value.value_id]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# plain values the digest takes as they are (most fields are text)
_AS_IS = frozenset({str, int, bool, type(None)})


def record_digest(record: Record) -> bytes:
    """Return a 16-byte hash of what a record publishes, to find what changed since the last run."""
    # orjson writes texts, numbers and lists itself and asks `_plain` for the rest (money, measures, decimals)
    payload = orjson.dumps(record.fields, default=_plain, option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS)
    return hashlib.blake2b(payload + (record.group or "").encode(), digest_size=16).digest()


def record_as_data(record: Record) -> dict[str, Any]:
    """Return a record as plain JSON-ready data, as `pim export explain` shows it."""

    def plain(value: Any) -> Any:
        if isinstance(value, Money):
            return str(value)
        if isinstance(value, Measure):
            return str(value)
        if isinstance(value, Param):
            data = {"name": value.name, "value": plain(value.value)}
            if value.unit:
                data["unit"] = value.unit
            if value.id is not None:
                data["id"] = value.id
            return data
        if isinstance(value, Decimal):
            return f"{value:f}"
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return {"key": record.key, "group": record.group, "fields": {k: plain(v) for k, v in record.fields.items()}}


# --- writing and publishing -----------------------------------------------------------------


class FolderSink:
    """Open the feed's files in a hidden folder; `close_all` flushes them to disk."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.opened: list[tuple[str, IO[bytes]]] = []

    def open(self, name: str) -> IO[bytes]:
        """Open a new file of the feed (a plain name, no folders)."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"a feed file name must be a plain name, got {name!r}")
        handle = open(self.folder / name, "wb")  # noqa: SIM115 - closed by close_all
        self.opened.append((name, handle))
        return handle

    def close_all(self) -> None:
        """Flush, fsync and close every file opened (files the format closed itself too)."""
        for name, handle in self.opened:
            if not handle.closed:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
            else:
                descriptor = os.open(self.folder / name, os.O_RDONLY)
                try:
                    os.fsync(descriptor)
                finally:
                    os.close(descriptor)

    def abort(self) -> None:
        """Close every file without caring for its content."""
        for _name, handle in self.opened:
            if not handle.closed:
                handle.close()


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def copy_atomically(source: Path, target: Path) -> None:
    """Copy a file so that `target` is either the old file or the whole new one, never a part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.parent / f"{TEMP_PREFIX}{target.name}.{uuid_module.uuid4().hex[:8]}"
    try:
        with open(source, "rb") as reader, open(temp, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1024 * 1024)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(temp, target)
        _fsync_folder(target.parent)
    finally:
        temp.unlink(missing_ok=True)


def clean_temporary(folder: Path) -> int:
    """Remove what interrupted runs left in a profile's folder; return how many were removed."""
    removed = 0
    if not folder.exists():
        return 0
    for entry in folder.iterdir():
        if entry.name.startswith(TEMP_PREFIX):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed


def _file_entry(path: Path, media_type: str) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    stat = path.stat()
    return {"name": path.name, "size": stat.st_size, "sha256": digest.hexdigest(), "media_type": media_type, "modified": stat.st_mtime}


class _Report:
    """The skipped-products report, written as CSV while the export runs."""

    def __init__(self, path: Path):
        self.path = path
        self.handle = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.writer = csv.writer(self.handle)
        self.writer.writerow(["sku", "reason", "field", "message", "outcome"])
        self.reasons: Counter[str] = Counter()
        self.count = 0
        self.warning_reasons: Counter[str] = Counter()
        self.warnings = 0

    def skip(self, skip: Skip) -> None:
        self.writer.writerow([skip.sku, skip.reason, skip.field, skip.message, "skipped"])
        self.reasons[skip.reason] += 1
        self.count += 1

    def warn(self, sku: str, problem: Problem) -> None:
        """Note something about a product that is in the feed all the same."""
        self.writer.writerow([sku, problem.code, problem.field, problem.message, "published"])
        self.warning_reasons[problem.code] += 1
        self.warnings += 1

    def close(self) -> None:
        self.handle.close()


def _problem_skip(sku: str, problems: list[Problem]) -> list[Skip]:
    return [Skip(sku, p.code, p.field, p.message) for p in problems]


@dataclass
class _Counts:
    exported: int = 0
    unchanged: int = 0
    deleted: int = 0
    seen: int = 0
    renditions_made: int = 0
    renditions_cached: int = 0


def run_export(
    code: str,
    *,
    is_delta: bool = False,
    output: str | os.PathLike[str] | None = None,
    job_id: int | None = None,
    reporter: Progress | None = None,
    skus: Sequence[str] | None = None,
) -> ExportResult:
    """Export one profile: write its feed, publish it atomically, keep the last N runs.

    A product incomplete for the channel and locale, or breaking a rule of the channel, is left
    out and listed in the report with the reason. With `is_delta`, only products whose record
    changed since the last successful run are written (formats that allow it), and products
    gone from the selection are written as deletions. `output` also copies the main file there.
    `skus` narrows the run to those products, for formats printed on demand (shelf labels).
    """
    reporter = reporter or _Quiet()
    profile = get_profile(code)
    structure = get_structure()
    definition, feed_format = load_definition(profile, structure)
    if skus is not None:
        check_skus(feed_format, skus)
    if definition.require_complete and settle_completeness(definition.channel, reporter):
        # the structure may have changed while the numbers were being recomputed
        structure = get_structure()
        definition, feed_format = load_definition(profile, structure)
    if is_delta and not definition.is_delta_allowed:
        raise Invalid.one("delta", f"The {feed_format.code} format publishes whole feeds only; run it without --delta", ErrorCode.INVALID_FORMAT)
    last_success = None
    if is_delta:
        last_success = _last_whole_run(profile)
        if last_success is None:
            raise Invalid.one("delta", f"Profile {code!r} has never been published; run a full export first", ErrorCode.INVALID_FORMAT)
    folder = profile_folder(profile.code)
    folder.mkdir(parents=True, exist_ok=True)
    removed = clean_temporary(folder)
    if removed:
        logger.info("Removed %d temporary files left by interrupted runs of %s", removed, profile.code)
    _close_abandoned_runs(profile)
    started = dt.datetime.now(dt.UTC)
    with db.transaction() as session:
        run = ExportRun(profile_id=profile.id, job_id=job_id, status="running", is_delta=is_delta, started_at=started)
        session.add(run)
        session.flush()
        run_id = run.id
    stamp = started.strftime("%Y%m%dT%H%M%S")
    temp = folder / f"{TEMP_PREFIX}{stamp}-{run_id}"
    temp.mkdir()
    report = _Report(temp / "report.csv")
    sink = FolderSink(temp)
    counts = _Counts()
    digests = _Digests(folder / f"{TEMP_PREFIX}{stamp}-{run_id}.digests")
    # where a helper process leaves the batches it resolved (removed at the end, or by the next run)
    spool = folder / f"{TEMP_PREFIX}{stamp}-{run_id}.batches"
    items: Iterator[Record | RecordGroup] | None = None
    try:
        resolver = Resolver(profile, definition, feed_format, structure)
        settings = _settings(profile, definition, resolver, started, is_delta)
        changed_since = last_success.started_at if last_success is not None else None
        if definition.is_delta_allowed and not is_delta and skus is None:
            # a whole run: the hashes of products it will not read go (a delta, or a run of a few
            # SKUs, leaves the other products' hashes as they were)
            digests.removed.extend(_unselected(profile.id, definition))
        items = _items(resolver, definition, feed_format, settings, report, counts, digests, reporter, changed_since, skus, spool)
        feed_format.rejected = []
        feed_format.warnings = []
        with fewer_collections():
            feed_format.write(items, settings, sink)
        sink.close_all()
        for sku, problem in feed_format.rejected:
            report.skip(Skip(sku, problem.code, problem.field, problem.message))
            digests.rejected.add(sku)
            counts.exported -= 1
        for sku, problem in feed_format.warnings:
            report.warn(sku, problem)
        report.close()
    except BaseException as exc:
        if isinstance(items, Generator):
            # stops the helper process of a big run at once
            items.close()
        sink.abort()
        report.close()
        digests.close()
        digests.path.unlink(missing_ok=True)
        shutil.rmtree(temp, ignore_errors=True)
        db.session.rollback()
        with db.transaction():
            failed = db.session.get(ExportRun, run_id)
            if failed is not None:
                failed.status = "cancelled" if type(exc).__name__ == "Cancelled" else "failed"
                failed.finished_at = dt.datetime.now(dt.UTC)
                failed.error = str(exc)[:2000] or type(exc).__name__
        raise
    files = [_file_entry(temp / name, feed_format.media_type) for name, _handle in sink.opened]
    final = folder / f"{stamp}-{run_id}"
    os.replace(temp, final)
    _fsync_folder(folder)
    target = None
    if output is not None and files:
        target = Path(output)
        if target.is_dir():
            target = target / files[0]["name"]
        copy_atomically(final / files[0]["name"], target)
    pushed = []
    if definition.push_folder:
        for entry in files:
            destination = Path(definition.push_folder) / entry["name"]
            copy_atomically(final / entry["name"], destination)
            pushed.append(str(destination))
    with db.transaction() as session:
        run = session.get(ExportRun, run_id)
        assert run is not None
        run.status = "succeeded"
        run.finished_at = dt.datetime.now(dt.UTC)
        run.folder = final.name
        run.files = files
        run.report_path = str(final / "report.csv")
        run.counts = {
            "exported": counts.exported,
            "skipped": report.count,
            "unchanged": counts.unchanged,
            "deleted": counts.deleted,
            "reasons": dict(report.reasons),
            "warnings": report.warnings,
            "warning_reasons": dict(report.warning_reasons),
            "renditions_made": counts.renditions_made,
            "renditions_cached": counts.renditions_cached,
        }
        if skus is not None:
            # a run of chosen products: the next delta still starts from the last whole run
            run.counts["chosen"] = len({identifier_key(sku) for sku in skus})
        _store_digests(profile.id, digests)
    digests.path.unlink(missing_ok=True)
    _prune(profile, definition.keep)
    return ExportResult(
        run_id=run_id,
        profile=profile.code,
        folder=final,
        files=files,
        exported=counts.exported,
        skipped=report.count,
        unchanged=counts.unchanged,
        deleted=counts.deleted,
        reasons=dict(report.reasons),
        warnings=report.warnings,
        warning_reasons=dict(report.warning_reasons),
        report_path=final / "report.csv",
        is_delta=is_delta,
        output=target,
        pushed=pushed,
    )


def _settings(profile: ExportProfile, definition: Definition, resolver: Resolver, started: dt.datetime, is_delta: bool) -> FeedSettings:
    feed = definition.raw.get("feed") or {}
    labels = profile.labels or {}
    title = feed.get("title") or labels.get(definition.locale) or labels.get("en_US") or profile.code
    return FeedSettings(
        code=profile.code,
        title=str(title),
        link=str(feed.get("link") or definition.base_url),
        description=str(feed.get("description") or ""),
        locale=definition.locale,
        currency=definition.currency,
        generated_at=started.astimezone().isoformat(timespec="minutes"),
        categories=list(resolver.tree),
        options={**_default_options(definition), **(definition.raw.get("options") or {})},
        is_for_people=definition.is_for_people,
        is_delta=is_delta,
    )


_ROW_COLUMNS = (Product.id, Product.identifier, Product.family_id, Product.parent_id, Product.values, Product.is_enabled)
# columns read only for a run whose fields show them (decoding them is a good part of reading a row)
_PROPERTY_COLUMNS = {"uuid": Product.uuid, "created": Product.created_at, "updated": Product.updated_at}


def _selection(definition: Definition) -> Any:
    statement, _key, _builder = select_products(ProductQuery(filters=definition.filter, locale=definition.locale, scope=definition.channel))
    return statement


def _default_options(definition: Definition) -> dict[str, Any]:
    """Return format options the pipeline knows up front: a CSV's columns are the mapped fields."""
    columns = ["sku", "group", *(name for name in definition.fields if name not in ("sku", "group"))]
    return {"csv_columns": columns}


def _id_batches(definition: Definition, extra: Any, is_grouped: bool) -> Iterator[list[int]]:
    """Yield the ids of the selection in batches, in the order the feed lists them.

    By keyset; for formats that nest variants under their model, products without a model
    first, then the variants of GROUPED_ROOTS root models at a time, sorted by root model so
    every group is whole. Only ids are read here, so a batch can be
    resolved in this process or in the helper process alike (`Resolver.rows`).
    """
    statement = _selection(definition)
    if extra is not None:
        statement = statement.where(extra)
    narrow = _narrow_selection(statement)
    if narrow is not None:
        yield from _narrow_batches(narrow, is_grouped)
        return
    # a whole feed takes most products: walking them by key is cheaper than SQLite's plan for the filter
    by_key = extra is None and db.session.get_bind().dialect.name == "sqlite"
    if not is_grouped:
        yield from _keyset_ids(statement, by_key=by_key)
        return
    yield from _keyset_ids(statement.where(Product.parent_id.is_(None)), by_key=by_key)
    last_model = 0
    while True:
        roots = list(
            db.session.scalars(
                select(ProductModel.id).where(ProductModel.parent_id.is_(None), ProductModel.id > last_model).order_by(ProductModel.id).limit(GROUPED_ROOTS)
            )
        )
        if not roots:
            return
        last_model = roots[-1]
        root_of = {root: root for root in roots}
        for sub_id, root_id in db.session.execute(select(ProductModel.id, ProductModel.parent_id).where(ProductModel.parent_id.in_(roots))).all():
            root_of[sub_id] = root_id
        if by_key:
            walked = aliased(Product)
            chosen = select(walked.id, walked.parent_id).where(walked.parent_id.in_(list(root_of)), statement.where(Product.id == walked.id).exists())
            pairs = db.session.execute(chosen.order_by(walked.id)).all()
        else:
            chosen = statement.with_only_columns(Product.id, Product.parent_id).where(Product.parent_id.in_(list(root_of)))
            pairs = db.session.execute(chosen.order_by(Product.id)).all()
        # by root model, and cut only between two models: a model's variants stay in one batch
        pairs.sort(key=lambda pair: (root_of[pair[1]], pair[0]))
        chunk: list[int] = []
        for index, (product_id, parent_id) in enumerate(pairs):
            if len(chunk) >= 5 * BATCH and root_of[parent_id] != root_of[pairs[index - 1][1]]:
                yield chunk
                chunk = []
            chunk.append(product_id)
        if chunk:
            yield chunk


# Formats that nest variants read them for this many root models at a time: a batch of their
# variants is rendered at once, and a few batches wait in memory to be written.
GROUPED_ROOTS = 100


# A selection of at most this many products is read at once (ids and models, a few MB) instead of walked.
NARROW = 50_000


def _narrow_selection(statement: Any) -> list[tuple[int, int | None]] | None:
    """Return (id, model id) of every product of a selection of at most NARROW products, else None.

    A printed catalogue, a delta or a run of chosen SKUs takes a few of the catalogue's products:
    reading them in one query spares walking every product model (or every product) in turn.
    """
    pairs = db.session.execute(statement.with_only_columns(Product.id, Product.parent_id).limit(NARROW + 1)).all()
    return None if len(pairs) > NARROW else [(product_id, parent_id) for product_id, parent_id in pairs]


def _narrow_batches(pairs: list[tuple[int, int | None]], is_grouped: bool) -> Iterator[list[int]]:
    """Yield a narrow selection's ids in the order `_id_batches` gives: by id, or variants grouped by root model."""
    if not is_grouped:
        ids = sorted(product_id for product_id, _parent_id in pairs)
        for start in range(0, len(ids), BATCH):
            yield ids[start : start + BATCH]
        return
    singles = sorted(product_id for product_id, parent_id in pairs if parent_id is None)
    for start in range(0, len(singles), BATCH):
        yield singles[start : start + BATCH]
    parents = sorted({parent_id for _product_id, parent_id in pairs if parent_id is not None})
    root_of: dict[int, int] = {}
    for start in range(0, len(parents), BATCH):
        chunk = parents[start : start + BATCH]
        for model_id, parent_id in db.session.execute(select(ProductModel.id, ProductModel.parent_id).where(ProductModel.id.in_(chunk))).all():
            root_of[model_id] = parent_id or model_id
    variants = sorted((root_of[parent_id], product_id) for product_id, parent_id in pairs if parent_id in root_of)
    batch: list[int] = []
    last_root = None
    for root, product_id in variants:
        # a batch ends between two models only, so every group is whole in one batch
        if len(batch) >= BATCH and root != last_root:
            yield batch
            batch = []
        batch.append(product_id)
        last_root = root
    if batch:
        yield batch


def _keyset_ids(statement: Any, *, by_key: bool = False) -> Iterator[list[int]]:
    """Yield the selection's ids by keyset, a batch at a time.

    With `by_key` the products are walked in key order and each is tested against the selection
    (an EXISTS on its key): SQLite otherwise answers `enabled = true ... ORDER BY id LIMIT n` from
    the enabled index, reading and sorting every enabled product for each batch.
    """
    if by_key:
        walked = aliased(Product)
        ids_statement = select(walked.id).where(statement.where(Product.id == walked.id).exists())
        key = walked.id
    else:
        ids_statement = statement.with_only_columns(Product.id)
        key = Product.id
    last = 0
    while True:
        ids = list(db.session.scalars(ids_statement.where(key > last).order_by(key).limit(BATCH)))
        if not ids:
            return
        last = ids[-1]
        yield ids


class _ByIds:
    """A statement read for a batch of ids, prepared once per run.

    A keyset batch's ids lie close together: they are read as a key range, which is faster than a
    list of a thousand (rows of other ids in the range may come too); other batches as a list.
    It runs on the session's connection without the ORM's result machinery, and its rows are
    read by position: the resolve step reads a few plain columns of thousands of rows.
    """

    def __init__(self, statement: Any, column: Any):
        self.in_range = statement.where(column.between(bindparam("low"), bindparam("high")))
        self.in_list = statement.where(column.in_(bindparam("ids", expanding=True)))

    def rows(self, ids: Sequence[int]) -> Sequence[Any]:
        if not ids:
            return []
        low, high = min(ids), max(ids)
        connection = db.session.connection()
        if high - low < 2 * len(ids):
            return connection.execute(self.in_range, {"low": low, "high": high}).all()
        return connection.execute(self.in_list, {"ids": list(ids)}).all()


# One product of a batch as the resolve step leaves it: (product id, SKU, record (None when not
# published), why it is skipped, the stored images it shows, its digest). A plain tuple: a helper
# process sends a thousand of them per batch, and a tuple pickles several times faster than an object.
_Resolved = tuple[int, str, Record | None, list[Skip], list[str], bytes | None]


class _Batch(NamedTuple):
    """A batch as the resolve step leaves it: its products in order and, for formats that nest
    variants, an empty group per root product model (by model id) and the images the groups show."""

    products: list[_Resolved]
    groups: dict[int, RecordGroup]
    group_images: set[str]


def _resolve_rows(resolver: Resolver, definition: Definition, feed_format: FeedFormat, settings: FeedSettings, rows: list[Any], keeps_digests: bool) -> _Batch:
    """Resolve and check a batch of product rows: records, the reasons to skip them, their digests,
    and for formats that nest variants the batch's models (a batch holds every variant of its models)."""
    resolved = []
    renders = feed_format.renders_records
    grouped = feed_format.is_grouped
    variants: dict[int, list[Record]] = {}  # to render with their model
    for product_id, view, missing in resolver.batch(rows):
        sku = view.sku
        skips: list[Skip] = []
        record = None
        digest = None
        if missing is not None:
            skips.append(
                Skip(
                    sku,
                    "incomplete",
                    ",".join(missing),
                    f"not complete for {definition.channel}/{definition.locale}: missing {', '.join(missing)}",
                )
            )
        else:
            record = resolver.record(view)
            skips.extend(Skip(sku, code, name, message) for code, name, message in view.problems)
            skips.extend(_problem_skip(sku, feed_format.check(record, settings)))
            if renders and not skips:
                if grouped and record.group_number is not None:
                    variants.setdefault(record.group_number, []).append(record)
                else:
                    rendered = feed_format.render(record, settings)
                    if isinstance(rendered, Problem):
                        skips.extend(_problem_skip(sku, [rendered]))
                    else:
                        record.rendered = rendered
            if keeps_digests and not skips:
                digest = record_digest(record)
            if record.rendered is not None:
                # the format writes what it rendered: the fields would only cost their way across from a helper
                record.fields = {}
        resolved.append((product_id, sku, record, skips, view.images, digest))
    if not grouped:
        return _Batch(resolved, {}, set())
    groups, group_images = resolver.groups(
        {record.group_number for _, _, record, _, _, _ in resolved if record is not None and record.group_number is not None}
    )
    for number, members in variants.items():
        group = groups.get(number) or RecordGroup(key=members[0].group or "", fields={}, variants=[])
        group_part, parts = feed_format.render_group(group, members, settings)
        for record, part in zip(members, parts, strict=True):
            if part is not None:
                record.rendered = part
                record.fields = {}
        if group_part is not None and number in groups:
            group.rendered = group_part
            group.fields = {}
    return _Batch(resolved, groups, group_images)


# A run resolves this many products in its own process before a helper process joins in (small
# runs never start one); the helper then takes batches while it has fewer than HELPER_QUEUE.
HELPER_AFTER = 2 * BATCH
HELPER_QUEUE = 4


def _resolved_batches(
    resolver: Resolver,
    definition: Definition,
    feed_format: FeedFormat,
    settings: FeedSettings,
    batches: Iterator[list[int]],
    reporter: Progress,
    keeps_digests: bool,
    spool: Path,
) -> Iterator[_Batch]:
    """Yield every batch resolved, in order; on a big run a helper process resolves part of them.

    Resolving is most of an export's work and writing the rest, so on a machine with two cores a
    second process resolves batches ahead while this one resolves others and writes the feed.
    """
    helper: _Helper | None = None
    may_help = _may_use_helper()
    resolved_here = 0
    local: dict[int, _Batch] = {}
    waiting: deque[int] = deque()  # batches taken from `batches`, in order, not handed on yet
    numbered = enumerate(batches)
    if may_help and int(current_app.config.get("EXPORT_HELPER_AFTER", HELPER_AFTER)) <= 0:
        # from the first batch on: the helper is waited for, so it resolves its share of any run
        helper = _Helper(resolver, settings, keeps_digests, spool)
        helper.wait_until_ready()

    def next_batch() -> tuple[int, list[int]] | None:
        taken = next(numbered, None)
        if taken is not None:
            reporter.check_cancelled()
            waiting.append(taken[0])
        return taken

    try:
        while True:
            # keep the helper busy: it gets the next batches while it has room, and while the
            # batches taken and not yet written stay few (when writing is slower than resolving,
            # resolved batches would otherwise pile up in memory)
            while helper is not None and helper.is_ready() and helper.in_flight < HELPER_QUEUE and len(waiting) < HELPER_QUEUE + 2:
                taken = next_batch()
                if taken is None:
                    break
                helper.send(*taken)
            if waiting and (waiting[0] in local or (helper is not None and helper.has(waiting[0]))):
                first = waiting.popleft()
                yield local.pop(first) if first in local else helper.take(first)  # type: ignore[union-attr]
                continue
            # the next batch in order is not ready: resolve one here, unless far ahead of the helper
            taken = next_batch() if len(waiting) <= HELPER_QUEUE + 2 else None
            if taken is not None:
                number, ids = taken
                local[number] = _resolve_rows(resolver, definition, feed_format, settings, resolver.rows(ids), keeps_digests)
                resolved_here += len(ids)
                if helper is None and may_help and resolved_here >= int(current_app.config.get("EXPORT_HELPER_AFTER", HELPER_AFTER)):
                    helper = _Helper(resolver, settings, keeps_digests, spool)
                continue
            if not waiting:
                return
            assert helper is not None and waiting[0] not in local
            yield helper.take(waiting.popleft())
    finally:
        if helper is not None:
            helper.close()


def _may_use_helper() -> bool:
    """Tell whether a helper process can resolve for this run: allowed (setting EXPORT_HELPER), two cores, a database it can open too."""
    if not current_app.config.get("EXPORT_HELPER", True) or (os.cpu_count() or 1) < 2:
        return False
    bind = db.session.get_bind()
    # a session bound to one connection (a transaction the helper cannot see) or a database in memory
    if not isinstance(bind, Engine):
        return False
    return not (bind.url.get_backend_name() == "sqlite" and bind.url.database in (None, "", ":memory:"))


class _Helper:
    """A second process resolving batches of products sent to it, for the run of this process.

    It is a fresh interpreter started with this module (not a fork, which is unsafe in a process
    with threads, nor multiprocessing's spawn, which runs the caller's main module again); the
    two talk over its standard input and output, one small pickled message at a time. A resolved
    batch (a megabyte or so) goes through a file in `spool` instead: through the pipe, the helper
    waited for this process's reading thread to drain it 64 KB at a time, and that thread gets
    the interpreter's lock only every few milliseconds while this one resolves and writes.
    """

    def __init__(self, resolver: Resolver, settings: FeedSettings, keeps_digests: bool, spool: Path):
        config = {key: value for key, value in current_app.config.items() if _is_picklable(value)}
        config["INSTANCE_PATH"] = current_app.instance_path
        spool.mkdir(exist_ok=True)
        self.spool = spool
        setup = {
            "config": config,
            "profile": resolver.profile.code,
            "now": resolver.context.now,
            "settings": settings,
            "keeps_digests": keeps_digests,
            "spool": str(spool),
        }
        paths = [entry for entry in sys.path if entry and os.path.isdir(entry)]
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            # -P: the working folder is not searched first, so a source tree there never shadows this installation
            [sys.executable, "-P", "-c", "from pim.publishing.export import serve_helper; serve_helper()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        logger.info("Export of %s resolves ahead in helper process %d", settings.code, self.process.pid)
        self.taken = 0
        self.input = self.process.stdin
        self.messages: queue.Queue[tuple[str, int | None, Any]] = queue.Queue()
        self.reader = threading.Thread(target=self._read, args=(self.process.stdout,), name="pim-export-helper-reader", daemon=True)
        self.reader.start()
        self.ready = False
        self.failed = False
        self.in_flight = 0
        self.done: set[int] = set()
        try:
            _write_message(self.input, setup)
        except OSError as exc:
            # it could not start: this process resolves everything, as on one core
            logger.warning("The export's helper process could not start: %s", exc)
            self.failed = True

    def _read(self, stream: IO[bytes]) -> None:
        """Receive the helper's messages as they come (in a thread, so the run never waits for them)."""
        while (message := _read_message(stream)) is not None:
            self.messages.put(message)
        self.messages.put(("stopped", None, None))

    def _receive(self, *, block: bool) -> bool:
        """Take one message from the helper; False when none came."""
        try:
            kind, number, payload = self.messages.get(block=block, timeout=1.0 if block else None)
        except queue.Empty:
            return False
        if kind == "ready":
            self.ready = True
        elif kind == "batch":
            assert number is not None
            self.done.add(number)  # still in its file: see take()
            self.in_flight -= 1
        elif not self.ready:
            # it could not start: this process resolves everything, as on one core
            logger.warning("The export's helper process could not start: %s", payload or "it stopped")
            self.failed = True
        elif kind == "stopped":
            raise RuntimeError("The export's helper process stopped unexpectedly")
        else:
            raise payload
        return True

    def _drain(self) -> None:
        while not self.failed and self._receive(block=False):
            pass

    def wait_until_ready(self, timeout: float = 60) -> None:
        """Wait for the helper to take batches (or to have failed to start)."""
        deadline = time.monotonic() + timeout
        while not self.ready and not self.failed and time.monotonic() < deadline:
            self._receive(block=True)

    def is_ready(self) -> bool:
        """Tell whether the helper takes batches now."""
        self._drain()
        return self.ready and not self.failed

    def send(self, number: int, ids: list[int]) -> None:
        """Give the helper a batch of ids to resolve."""
        _write_message(self.input, (number, ids))
        self.in_flight += 1

    def has(self, number: int) -> bool:
        """Tell whether a batch given to the helper is resolved."""
        self._drain()
        return number in self.done

    def take(self, number: int) -> _Batch:
        """Return a batch given to the helper, waiting for it if need be."""
        while number not in self.done:
            self._receive(block=True)
        self.taken += 1
        self.done.discard(number)
        # a batch is read only when its turn to be written comes: batches waiting for theirs stay
        # on disk (in the page cache), and their many small objects are made and freed by this
        # thread, which keeps the heap from fragmenting over a long run
        path = _spooled(self.spool, number)
        data = path.read_bytes()
        path.unlink()
        return pickle.loads(data)  # noqa: S301 - written by this run's helper

    def close(self) -> None:
        """Stop the helper: with no batch left it ends by itself, otherwise (a failed or cancelled run) it is ended."""
        if self.in_flight:
            self.process.kill()
        try:
            self.input.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=10)
        shutil.rmtree(self.spool, ignore_errors=True)
        logger.info("Helper process %d resolved %d batches", self.process.pid, self.taken)


def _spooled(spool: Path, number: int) -> Path:
    """Return the file a helper leaves a resolved batch in."""
    return spool / f"{number}.batch"


def _is_picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def _write_message(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def _read_message(stream: IO[bytes]) -> Any:
    """Return the next message of a stream, or None at its end."""
    header = stream.read(8)
    if len(header) < 8:
        return None
    data = stream.read(int.from_bytes(header, "little"))
    return pickle.loads(data)


def serve_helper() -> None:
    """Resolve the batches an exporting process sends on standard input until it closes it (the helper process's main)."""
    from pim.app import create_app

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    # nothing printed by mistake may get into the messages
    sys.stdout = sys.stderr
    setup = _read_message(requests)
    if setup is None:
        return
    try:
        app = create_app(setup["config"])
        gc.set_threshold(*BULK_GC_THRESHOLD)
        with app.app_context():
            profile = get_profile(setup["profile"])
            structure = get_structure()
            definition, feed_format = load_definition(profile, structure)
            resolver = Resolver(profile, definition, feed_format, structure, now=setup["now"])
            settings, keeps_digests, spool = setup["settings"], setup["keeps_digests"], Path(setup["spool"])
            _write_message(replies, ("ready", None, None))
            while (task := _read_message(requests)) is not None:
                number, ids = task
                batch = _resolve_rows(resolver, definition, feed_format, settings, resolver.rows(ids), keeps_digests)
                # written whole before the message that names it
                _spooled(spool, number).write_bytes(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
                _write_message(replies, ("batch", number, None))
    except BrokenPipeError:
        return
    except BaseException as exc:  # reported to the exporting process, which raises it
        exc.add_note("Raised in the export's helper process:\n" + "".join(traceback.format_exception(exc)))
        try:
            _write_message(replies, ("error", None, exc))
        except BrokenPipeError:
            return
        except Exception:
            _write_message(replies, ("error", None, RuntimeError(f"{type(exc).__name__}: {exc}")))


class _Digests:
    """The hashes of what a run published, spooled to a file so memory stays flat on big feeds."""

    CHUNK = 5000

    def __init__(self, path: Path):
        self.path = path
        self.handle = open(path, "wb")  # noqa: SIM115 - closed in rows()
        self.pending: list[tuple[int, bytes, str]] = []
        self.removed: list[int] = []
        # SKUs the format refused while writing: not published, so no hash is kept for them
        self.rejected: set[str] = set()

    def add(self, product_id: int, digest: bytes, sku: str) -> None:
        self.pending.append((product_id, digest, sku))
        if len(self.pending) >= self.CHUNK:
            self._spool()

    def _spool(self) -> None:
        # this run's own file, read back by this run only
        pickle.dump(self.pending, self.handle, protocol=pickle.HIGHEST_PROTOCOL)
        self.pending = []

    def remove(self, product_id: int) -> None:
        self.removed.append(product_id)

    def rows(self, profile_id: int) -> Iterator[list[tuple[int, int, bytes, str]]]:
        """Yield the spooled hashes as (profile, product, digest, SKU) rows, a chunk at a time."""
        if self.pending:
            self._spool()
        self.handle.close()
        with open(self.path, "rb") as reader:
            while True:
                try:
                    chunk = pickle.load(reader)  # noqa: S301 - written above by this run
                except EOFError:
                    return
                yield [(profile_id, product_id, digest, sku) for product_id, digest, sku in chunk]

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.close()


def _previous_reader(profile_id: int) -> _ByIds:
    """Return the reader of the hash and SKU each product of a batch was last published with."""
    return _ByIds(
        select(PublishedRecord.product_id, PublishedRecord.digest, PublishedRecord.sku).where(PublishedRecord.profile_id == profile_id),
        PublishedRecord.product_id,
    )


def _items(
    resolver: Resolver,
    definition: Definition,
    feed_format: FeedFormat,
    settings: FeedSettings,
    report: _Report,
    counts: _Counts,
    digests: _Digests,
    reporter: Progress,
    changed_since: dt.datetime | None,
    skus: Sequence[str] | None,
    spool: Path,
) -> Iterator[Record | RecordGroup]:
    """Yield the records the feed takes, reporting every product left out.

    With `changed_since` (a delta run), only products changed since then are read; a product
    published before whose record is unchanged is not written, and one that is now skipped
    is written as a deletion.
    """
    is_delta = changed_since is not None
    # only profiles that can publish deltas need to remember what they published
    keeps_digests = definition.is_delta_allowed
    profile_id = resolver.profile.id
    extra = None
    if changed_since is not None:
        changed_models = select(ProductModel.id).where(ProductModel.updated_at >= changed_since)
        sub_models = select(ProductModel.id).where(ProductModel.parent_id.in_(changed_models))
        extra = (Product.updated_at >= changed_since) | Product.parent_id.in_(changed_models) | Product.parent_id.in_(sub_models)
    if skus is not None:
        chosen = Product.identifier_key.in_([identifier_key(sku) for sku in skus])
        extra = chosen if extra is None else extra & chosen
    grouped = feed_format.is_grouped
    previous_of = _previous_reader(profile_id)
    batches = _id_batches(definition, extra, grouped)
    for resolved, groups, group_images in _resolved_batches(resolver, definition, feed_format, settings, batches, reporter, keeps_digests, spool):
        previous = {product_id: (digest, sku) for product_id, digest, sku in previous_of.rows([item[0] for item in resolved])} if keeps_digests else {}
        counts.seen += len(resolved)
        image_keys = {key for item in resolved for key in item[4]} | group_images
        failed: dict[str, str] = {}
        if resolver.renditions is not None and image_keys:
            made = ensure_renditions(resolver.renditions, image_keys, workers=RENDITION_WORKERS)
            counts.renditions_made += made.made
            counts.renditions_cached += made.cached
            failed = made.failed or {}
        group: RecordGroup | None = None
        for product_id, identifier, record, skips, images, digest in resolved:
            for key in images:
                if key in failed:
                    skips.append(Skip(identifier, "image_unreadable", key, f"image {key} could not be converted for the channel: {failed[key]}"))
            if skips:
                for skip in skips:
                    report.skip(skip)
                if product_id in previous and (is_delta or skus is None):
                    digests.remove(product_id)
                    if is_delta:
                        counts.deleted += 1
                        yield Record(key=identifier, fields={}, is_deleted=True)
                continue
            assert record is not None
            if keeps_digests:
                assert digest is not None
                if previous.get(product_id) != (digest, identifier):
                    digests.add(product_id, digest, identifier)
                elif is_delta:
                    counts.unchanged += 1
                    continue
            counts.exported += 1
            if grouped and record.group is not None:
                if group is not None and group.key != record.group:
                    yield group
                    group = None
                if group is None:
                    group = groups.get(record.group_number) if record.group_number is not None else None
                    if group is None:
                        group = RecordGroup(key=record.group, fields={}, variants=[])
                group.variants.append(record)
                continue
            yield record
        if group is not None:
            yield group
        reporter.progress(counts.seen)
    if changed_since is not None and skus is None:
        yield from _deletions(resolver, definition, counts, digests, changed_since)


def check_skus(feed_format: FeedFormat, skus: Sequence[str]) -> None:
    """Refuse a run of chosen SKUs for a format that publishes whole feeds, or SKUs that do not exist."""
    if not feed_format.prints_on_demand:
        raise Invalid.one("sku", f"The {feed_format.code} format publishes whole feeds; only formats printed on demand (shelf labels) take a list of SKUs")
    if not skus:
        raise Invalid.one("sku", "Name at least one SKU")
    known = set(db.session.scalars(select(Product.identifier_key).where(Product.identifier_key.in_([identifier_key(sku) for sku in skus]))))
    unknown = [sku for sku in skus if identifier_key(sku) not in known]
    if unknown:
        raise Invalid.one("sku", f"No product has the SKU {', '.join(repr(sku) for sku in unknown[:20])}", ErrorCode.UNKNOWN)


def _deletions(resolver: Resolver, definition: Definition, counts: _Counts, digests: _Digests, changed_since: dt.datetime) -> Iterator[Record]:
    """Yield deletions for published products that are gone or no longer match the filter."""
    profile_id = resolver.profile.id
    gone = select(PublishedRecord.product_id, PublishedRecord.sku).where(
        PublishedRecord.profile_id == profile_id, ~select(Product.id).where(Product.id == PublishedRecord.product_id).exists()
    )
    for product_id, sku in db.session.execute(gone).all():
        counts.deleted += 1
        digests.remove(product_id)
        yield Record(key=sku, fields={}, is_deleted=True)
    selection = _selection(definition)
    changed = (
        select(PublishedRecord.product_id, PublishedRecord.sku)
        .join(Product, Product.id == PublishedRecord.product_id)
        .where(PublishedRecord.profile_id == profile_id, Product.updated_at >= changed_since, Product.id.not_in(selection))
    )
    for product_id, sku in db.session.execute(changed).all():
        counts.deleted += 1
        digests.remove(product_id)
        yield Record(key=sku, fields={}, is_deleted=True)


def _store_digests(profile_id: int, digests: _Digests) -> None:
    """Remember what was published: the hashes of products no longer published go, those that changed are written.

    A hash the run found unchanged is not written again, so the daily run of a big feed rewrites
    only what changed.
    """
    session = db.session
    table = PublishedRecord.__table__
    for start in range(0, len(digests.removed), BATCH):
        chunk = digests.removed[start : start + BATCH]
        session.execute(delete(PublishedRecord).where(PublishedRecord.profile_id == profile_id, PublishedRecord.product_id.in_(chunk)))
    for rows in digests.rows(profile_id):
        session.execute(delete(PublishedRecord).where(PublishedRecord.profile_id == profile_id, PublishedRecord.product_id.in_([row[1] for row in rows])))
        db.insert_records(table, ("profile_id", "product_id", "digest", "sku"), rows)
    # products the format refused while writing were not published, whether their hash changed or not
    rejected = sorted(digests.rejected)
    for start in range(0, len(rejected), BATCH):
        session.execute(delete(PublishedRecord).where(PublishedRecord.profile_id == profile_id, PublishedRecord.sku.in_(rejected[start : start + BATCH])))


def _unselected(profile_id: int, definition: Definition) -> list[int]:
    """Return the products published before that the selection no longer takes (deleted ones included).

    A whole run reads this before it starts: a product that leaves the selection during the run
    keeps its hash, so the next delta still writes its deletion.
    """
    # NOT EXISTS, an anti-join: PostgreSQL probes NOT IN row by row once the selection outgrows work_mem
    selected = _selection(definition).where(Product.id == PublishedRecord.product_id).exists()
    return list(db.session.scalars(select(PublishedRecord.product_id).where(PublishedRecord.profile_id == profile_id, ~selected)))


def _prune(profile: ExportProfile, keep: int) -> None:
    """Keep the last `keep` successful runs' folders; older ones are removed."""
    runs = list(
        db.session.scalars(
            select(ExportRun).where(ExportRun.profile_id == profile.id, ExportRun.status == "succeeded").order_by(ExportRun.id.desc()).offset(keep)
        )
    )
    if not runs:
        return
    folder = profile_folder(profile.code)
    with db.transaction():
        for run in runs:
            if run.folder:
                shutil.rmtree(folder / run.folder, ignore_errors=True)
            run.status = "pruned"


def _last_whole_run(profile: ExportProfile) -> ExportRun | None:
    """Return the last successful run of all the profile's products (full or delta), which a delta continues."""
    runs = db.session.scalars(
        select(ExportRun)
        .where(ExportRun.profile_id == profile.id, ExportRun.status.in_(("succeeded", "pruned")), ExportRun.finished_at.is_not(None))
        .order_by(ExportRun.id.desc())
    )
    return next((run for run in runs if "chosen" not in (run.counts or {})), None)


def latest_run(profile: ExportProfile) -> ExportRun | None:
    """Return the profile's last successful run, whose files are the published feed."""
    return db.session.scalar(
        select(ExportRun).where(ExportRun.profile_id == profile.id, ExportRun.status == "succeeded").order_by(ExportRun.id.desc()).limit(1)
    )


def published_file(token: str, name: str) -> tuple[Path, dict[str, Any]]:
    """Return the path and entry of a file of a profile's latest feed by its secret token; NotFound otherwise."""
    profile = db.session.scalar(select(ExportProfile).where(ExportProfile.token == token))
    if profile is None:
        raise NotFound("No feed at this address")
    run = latest_run(profile)
    if run is None or not run.folder:
        raise NotFound("This feed has not been published yet")
    for entry in run.files:
        if entry["name"] == name:
            return profile_folder(profile.code) / run.folder / name, entry
    raise NotFound(f"The feed has no file {name!r}")


def explain(code: str, sku: str) -> dict[str, Any]:
    """Tell whether a product is in a profile's feed, and if not exactly why, with the record it would get."""
    profile = get_profile(code)
    if settle_completeness(profile.definition["channel"]):
        db.session.expire_all()
    structure = get_structure()
    definition, feed_format = load_definition(profile, structure)
    product_id = db.session.scalar(select(Product.id).where(Product.identifier_key == identifier_key(sku)))
    if product_id is None:
        raise NotFound(f"Product {sku!r} does not exist")
    reasons: list[dict[str, str]] = []
    statement, _key, _builder = select_products(ProductQuery(filters=definition.filter, locale=definition.locale, scope=definition.channel))
    if db.session.scalar(statement.where(Product.id == product_id)) is None:
        reasons.append(
            {"reason": "filtered_out", "field": "filter", "message": f"The profile's filter does not select it: {orjson.dumps(definition.filter).decode()}"}
        )
    resolver = Resolver(profile, definition, feed_format, structure)
    record_data = None
    warnings: list[dict[str, str]] = []
    for _product_id, view, missing in resolver.batch(resolver.rows([product_id])):
        if missing is not None:
            reasons.append(
                {
                    "reason": "incomplete",
                    "field": ",".join(missing),
                    "message": f"Not complete for {definition.channel}/{definition.locale}: missing {', '.join(missing)}",
                }
            )
        record = resolver.record(view)
        record_data = record_as_data(record)
        settings = _settings(profile, definition, resolver, dt.datetime.now(dt.UTC), False)
        for problem in feed_format.check(record, settings):
            reasons.append({"reason": problem.code, "field": problem.field, "message": problem.message})
        if not reasons and feed_format.renders_records:
            rendered = feed_format.render(record, settings)
            if isinstance(rendered, Problem):
                reasons.append({"reason": rendered.code, "field": rendered.field, "message": rendered.message})
        if not reasons:
            for problem in feed_format.notices(record, settings):
                warnings.append({"reason": problem.code, "field": problem.field, "message": problem.message})
    return {"profile": profile.code, "sku": sku, "in_feed": not reasons, "reasons": reasons, "warnings": warnings, "record": record_data}


def check_can_run(code: str, *, is_delta: bool, skus: Sequence[str] | None = None) -> None:
    """Refuse at once what an export would refuse: a broken definition, a delta the format or history does not allow."""
    profile = get_profile(code)
    definition, feed_format = load_definition(profile)
    if skus is not None:
        check_skus(feed_format, skus)
    if is_delta and not definition.is_delta_allowed:
        raise Invalid.one("delta", f"The {feed_format.code} format publishes whole feeds only; run it without --delta", ErrorCode.INVALID_FORMAT)
    if is_delta and latest_run(profile) is None:
        raise Invalid.one("delta", f"Profile {code!r} has never been published; run a full export first", ErrorCode.INVALID_FORMAT)


def _close_abandoned_runs(profile: ExportProfile) -> None:
    """Mark runs left `running` by a killed export as interrupted.

    The profile's job lock means no other run of it is alive when a new one starts.
    """
    with db.transaction() as session:
        for run in session.scalars(select(ExportRun).where(ExportRun.profile_id == profile.id, ExportRun.status == "running")):
            run.status = "interrupted"
            run.finished_at = dt.datetime.now(dt.UTC)
            run.error = "The export stopped before the end (its process was killed or crashed)"
