"""Who makes a change and from where; every write service takes one."""

from __future__ import annotations

import enum
import getpass
from dataclasses import dataclass


class Source(enum.StrEnum):
    """Entry point a change came from, as recorded in the history."""

    UI = "ui"
    API = "api"
    IMPORT = "import"
    BULK_EDIT = "bulk_edit"
    CLI = "cli"
    REVERT = "revert"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """The author of a change, the entry point it came through and the job running it, if any."""

    name: str
    source: Source = Source.CLI
    job_id: int | None = None

    @classmethod
    def from_os_user(cls, source: Source = Source.CLI) -> Actor:
        """Return an actor named after the operating-system user running the command."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "cli"
        return cls(name=name, source=source)


SYSTEM = Actor(name="system", source=Source.SYSTEM)
