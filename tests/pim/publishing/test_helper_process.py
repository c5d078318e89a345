"""Exports with a second process resolving ahead publish exactly what one process publishes."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from pim import db
from pim.actor import Actor, Source
from pim.demo import load_demo
from pim.publishing.export import run_export
from pim.publishing.services import install_preset

PRESETS = ("yandex_market", "webshop", "store_pos")


def published(folder: Path) -> dict[str, bytes]:
    """Return a run's files, with the time a feed states it was made taken out."""
    files = {}
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        files[path.name] = re.sub(rb'date="[^"]*"', b'date=""', data)
    return files


def test_a_helper_process_publishes_the_same_feeds_byte_for_byte(committed_app, caplog):
    app = committed_app
    actor = Actor("anna", Source.CLI)
    with app.app_context():
        load_demo(products=3000)
        for preset in PRESETS:
            install_preset(preset, actor=actor)
        db.session.remove()
        outputs = {}
        for helper in (False, True):
            app.config.update(EXPORT_HELPER=helper, EXPORT_HELPER_AFTER=0)
            with caplog.at_level(logging.INFO, logger="pim.publishing.export"):
                caplog.clear()
                for preset in PRESETS:
                    result = run_export(preset)
                    outputs[(helper, preset)] = (published(result.folder), result.exported, result.skipped)
                    # the batches the helper handed over through files are gone with the run
                    assert [path.name for path in result.folder.parent.iterdir() if path.name.startswith(".tmp-")] == []
                    db.session.remove()
                started = [record for record in caplog.records if "resolves ahead in helper process" in record.getMessage()]
                batches = [int(m.group(1)) for record in caplog.records if (m := re.search(r"resolved (\d+) batches", record.getMessage()))]
            assert len(started) == (len(PRESETS) if helper else 0)
            # the helper really resolved part of every feed
            assert len(batches) == len(started) and all(count > 0 for count in batches)

    for preset in PRESETS:
        assert outputs[(True, preset)] == outputs[(False, preset)]
        assert outputs[(True, preset)][1] > 0
