"""The pace of Python's cyclic garbage collector during long bulk work."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

# While feeds are written or products loaded, the cyclic collector runs every BULK_GC_THRESHOLD[0]
# allocations instead of 700.
BULK_GC_THRESHOLD = (50_000, 50, 100)
_lock = threading.Lock()
_users = 0
_saved = gc.get_threshold()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Let the cyclic garbage collector run less often during bulk work.

    An export or a load makes millions of short-lived objects (decoded values, records, rows)
    that reference counting frees; at the collector's default pace it spends a tenth of the run
    scanning them. The setting is the whole process's, so the last user in it puts it back.
    """
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*BULK_GC_THRESHOLD)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                gc.set_threshold(*_saved)
