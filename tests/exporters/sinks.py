"""What the exporter tests share: a sink writing a feed's files under a folder, and money."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson

from exporters.base import FeedFormat, FeedSettings, Money, Problem, Record, RecordGroup


class FolderSink:
    """Open each file of a feed under a folder, remembering the names in order.

    A chunked format closes its files itself; the others leave them open, as the publisher
    would, and the test closes them with `close()`.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.names: list[str] = []
        self.files: dict[str, IO[bytes]] = {}

    def open(self, name: str) -> IO[bytes]:
        file = (self.folder / name).open("wb")
        self.names.append(name)
        self.files[name] = file
        return file

    def close(self) -> None:
        for file in self.files.values():
            file.close()

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    def bodies(self) -> list[Any]:
        """Return every file of a feed of JSON request bodies, decoded, in the order written."""
        return [orjson.loads(self.read(name)) for name in self.names]


def rub(amount: str) -> Money:
    return Money(Decimal(amount), "RUB")


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def rendered_as_in_a_run(feed: FeedFormat, items: list[Record | RecordGroup], settings: FeedSettings) -> list[Record | RecordGroup]:
    """Render each record the way an export run does before `write` gets it: parts prepared, fields
    dropped; for a format that nests variants, a model's variants rendered with it."""

    def rendered(record: Record, parts: Any) -> Record:
        if parts is None:
            return record
        return Record(record.key, {}, group=record.group, group_number=record.group_number, rendered=parts)

    def render(record: Record) -> Record:
        if record.is_deleted:
            return record
        parts = feed.render(record, settings)
        assert not isinstance(parts, Problem), parts
        return rendered(record, parts)

    def render_group(group: RecordGroup) -> RecordGroup:
        if not feed.is_grouped:
            return RecordGroup(group.key, group.fields, [render(variant) for variant in group.variants], group.axes)
        members = [variant for variant in group.variants if not variant.is_deleted]
        group_part, parts = feed.render_group(group, members, settings)
        by_key = {variant.key: part for variant, part in zip(members, parts, strict=True)}
        variants = [variant if variant.is_deleted else rendered(variant, by_key[variant.key]) for variant in group.variants]
        return RecordGroup(group.key, group.fields if group_part is None else {}, variants, group.axes, group_part)

    return [render_group(item) if isinstance(item, RecordGroup) else render(item) for item in items]
