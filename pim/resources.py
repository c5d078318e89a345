"""Locate the files shipped with the application (templates, channel presets).

An installed package carries them inside `pim/`; a source checkout keeps them at the top of
the repository, next to the `pim` folder.
"""

from __future__ import annotations

from pathlib import Path

_ALIASES = {"templates": "templates", "presets": "channels"}


def resource_path(name: str) -> Path:
    """Return the folder of a shipped resource: "templates" or "presets"."""
    package_dir = Path(__file__).parent
    installed = package_dir / name
    if installed.is_dir():
        return installed
    return package_dir.parent / _ALIASES[name]
