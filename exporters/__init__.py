"""Feed formats, one module per format, each registered by its code in `exporters.base.FORMATS`."""

from __future__ import annotations

import importlib
import pkgutil

from exporters.base import FORMATS, FeedFormat


def load_formats() -> dict[str, type[FeedFormat]]:
    """Import every module of this package (each registers its formats) and return the registry."""
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base" and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return FORMATS


def get_format(code: str) -> FeedFormat:
    """Return a new instance of a registered format; KeyError names the known ones."""
    formats = load_formats()
    if code not in formats:
        raise KeyError(f"unknown feed format {code!r}; known: {', '.join(sorted(formats))}")
    return formats[code]()
