"""Feed formats, one module per format, each registered by its code in `exporters.base.FORMATS`."""

from __future__ import annotations

import importlib

from exporters.base import FORMATS, FeedFormat

# Every module listed here registers its formats when imported.
FORMAT_MODULES: tuple[str, ...] = ()


def load_formats() -> dict[str, type[FeedFormat]]:
    """Import every format module and return the registry, code -> format class."""
    for name in FORMAT_MODULES:
        importlib.import_module(f"exporters.{name}")
    return FORMATS


def get_format(code: str) -> FeedFormat:
    """Return a new instance of a registered format; KeyError names the known ones."""
    formats = load_formats()
    if code not in formats:
        raise KeyError(f"unknown feed format {code!r}; known: {', '.join(sorted(formats))}")
    return formats[code]()
