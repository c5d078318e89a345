"""Export profiles: install a preset, apply a definition, show it, rotate its feed address."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import yaml
from flask import current_app
from sqlalchemy import select

from exporters import get_format
from exporters.base import FeedSettings
from pim import db
from pim.actor import Actor
from pim.catalog.models import Category
from pim.errors import Conflict, ErrorCode, FieldError, Invalid, NotFound
from pim.publishing.definition import read_definition
from pim.publishing.export import get_profile, latest_run
from pim.publishing.models import ExportProfile
from pim.resources import resource_path
from pim.structure import services as structure_services
from pim.structure.models import Channel
from pim.structure.snapshot import get_structure

PRESET_KEYS = {"preset", "new_channel"}


def list_presets() -> list[str]:
    """Return the codes of the presets shipped in `channels/`."""
    return sorted(path.stem for path in resource_path("presets").glob("*.yaml"))


def load_preset(name: str) -> dict[str, Any]:
    """Return a shipped preset as data; NotFound names the known presets."""
    if name not in list_presets():
        raise NotFound(f"No preset {name!r}; presets: {', '.join(list_presets())}")
    with open(resource_path("presets") / f"{name}.yaml", encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise Invalid.one("preset", f"Preset {name!r} is not a mapping")
    return data


def feed_address(profile: ExportProfile, name: str | None = None, *, base_url: str | None = None) -> str:
    """Return the public address of a profile's feed (its main file unless `name` is given).

    The address starts with `base_url`, else the PUBLIC_URL setting (where marketplaces reach us).
    """
    base = str(base_url or current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")
    if name is None:
        run = latest_run(profile)
        if run is not None and run.files:
            name = run.files[0]["name"]
        else:
            name = get_format(profile.format).file_name(FeedSettings(code=profile.code))
    return f"{base}/feeds/{profile.token}/{name}"


def _new_channel(code: str, spec: Mapping[str, Any], fallback: str | None) -> Channel:
    """Create the channel a profile publishes from: a copy of the fallback's scope, or the preset's."""
    structure = get_structure()
    if fallback is not None:
        source = structure.channels.get(fallback)
        if source is None:
            raise Invalid.one("fallback", f"Channel {fallback!r} does not exist", ErrorCode.UNKNOWN_CHANNEL)
        tree = db.session.scalar(select(Category.code).where(Category.id == source.category_tree_id))
        # a region of a channel sells the same products: it requires what its fallback requires
        return structure_services.create_channel(
            code,
            locales=list(source.locales),
            currencies=list(source.currencies),
            category_tree=str(tree),
            labels={"en_US": code.replace("_", " ").capitalize()},
            fallback=fallback,
            requirements_from=fallback,
        )
    tree = spec.get("category_tree") or db.session.scalar(select(Category.code).where(Category.parent_id.is_(None)).order_by(Category.id).limit(1))
    if tree is None:
        raise Invalid.one("channel", "The catalogue has no category tree for a new channel; create one first", ErrorCode.REQUIRED)
    return structure_services.create_channel(
        code,
        locales=list(spec.get("locales") or ["en_US"]),
        currencies=list(spec.get("currencies") or ["EUR"]),
        category_tree=str(tree),
        labels=dict(spec.get("labels") or {"en_US": code.replace("_", " ").capitalize()}),
    )


def install_preset(
    preset: str,
    *,
    code: str | None = None,
    channel: str | None = None,
    fallback: str | None = None,
    actor: Actor,
) -> ExportProfile:
    """Create an export profile from a shipped preset.

    The profile is named like the preset or `code`. It publishes from `channel` when given;
    with `fallback`, from a new channel named like the profile whose values fall back to that
    channel; otherwise from the preset's usual channel (the demo's `ecommerce` or
    `marketplace`) or, where there is none, from a new channel of the preset's name.
    """
    data = load_preset(preset)
    profile_code = code or preset
    if channel is not None and fallback is not None:
        raise Invalid.one("fallback", "Give either --channel or --fallback, not both")
    with db.transaction():
        if db.session.scalar(select(ExportProfile.id).where(ExportProfile.code == profile_code)) is not None:
            raise Conflict(f"Export profile {profile_code!r} already exists; `pim channel show {profile_code}` prints it")
        existing = {c for c in db.session.scalars(select(Channel.code))}
        if channel is not None:
            if channel not in existing:
                raise Invalid.one("channel", f"Channel {channel!r} does not exist", ErrorCode.UNKNOWN_CHANNEL)
            channel_code = channel
        elif fallback is not None:
            channel_code = profile_code if profile_code not in existing else f"{profile_code}_channel"
            _new_channel(channel_code, {}, fallback)
        elif data.get("channel") in existing:
            channel_code = str(data["channel"])
        else:
            channel_code = profile_code
            if channel_code not in existing:
                _new_channel(channel_code, data.get("new_channel") or {}, None)
        definition = {k: v for k, v in data.items() if k not in PRESET_KEYS}
        definition["code"] = profile_code
        definition["channel"] = channel_code
        structure = get_structure()
        channel_info = structure.channels[channel_code]
        if definition.get("locale") not in channel_info.locales:
            definition["locale"] = _pick(channel_info.locales, data.get("locale"))
        if definition.get("currency") not in channel_info.currencies:
            definition["currency"] = _pick(channel_info.currencies, data.get("currency"))
        profile = _save(definition, preset=preset)
    return profile


def _pick(available: tuple[str, ...], wanted: Any) -> str:
    if wanted in available:
        return str(wanted)
    return available[0] if available else str(wanted or "")


def apply_definition(raw: Any, *, actor: Actor) -> tuple[ExportProfile, bool]:
    """Create or replace an export profile from a definition; return it and whether it is new.

    Every problem of the definition is listed at once (Invalid), and nothing is changed then.
    """
    with db.transaction():
        if not isinstance(raw, Mapping):
            raise Invalid.one("definition", "A definition is a mapping of settings (code, channel, format, fields...)")
        code = raw.get("code")
        is_new = db.session.scalar(select(ExportProfile.id).where(ExportProfile.code == code)) is None
        profile = _save(dict(raw), preset=raw.get("preset"))
    return profile, is_new


def _save(definition: dict[str, Any], *, preset: Any) -> ExportProfile:
    structure = get_structure()
    try:
        feed_format = get_format(str(definition.get("format")))
    except KeyError:
        feed_format = None
    checked, errors = read_definition(definition, structure, feed_format)
    if isinstance(definition.get("schedule"), str) and definition["schedule"].strip():
        errors.extend(_schedule_errors(definition["schedule"]))
    if errors or checked is None:
        raise Invalid(errors)
    session = db.session
    profile = session.scalar(select(ExportProfile).where(ExportProfile.code == checked.code))
    channel_id = structure.channels[checked.channel].id
    labels = definition.get("label")
    labels = {"en_US": labels} if isinstance(labels, str) else dict(labels or {})
    if preset:
        definition["preset"] = str(preset)
    if profile is None:
        profile = ExportProfile(
            code=checked.code,
            labels=labels,
            channel_id=channel_id,
            format=checked.format,
            preset=str(preset) if preset else None,
            definition=definition,
            schedule=checked.schedule,
            token=secrets.token_urlsafe(24),
        )
        session.add(profile)
    else:
        profile.labels = labels
        profile.channel_id = channel_id
        profile.format = checked.format
        profile.definition = definition
        profile.schedule = checked.schedule
        profile.updated_at = db.utcnow()
    session.flush()
    _sync_schedule(profile)
    return profile


def _schedule_errors(expression: str) -> list[FieldError]:
    from pim.jobs.schedule import parse_cron

    try:
        parse_cron(expression)
    except Invalid as exc:
        return [FieldError("schedule", e.message, e.code) for e in exc.errors]
    return []


def _sync_schedule(profile: ExportProfile) -> None:
    """Keep the job scheduler's entry of the profile in step with its cron expression."""
    from pim.jobs import schedule as schedules
    from pim.publishing import jobs  # noqa: F401 - registers the export job type

    key = f"export:{profile.code}"
    if profile.schedule:
        schedules.save_schedule(key, profile.schedule, "export", {"profile": profile.code}, lock_key=f"export:{profile.code}", is_enabled=True)
    elif schedules.find_schedule(key) is not None:
        schedules.delete_schedule(key)


def show_definition(code: str) -> str:
    """Return a profile's definition as YAML, headed by a comment with its feed address."""
    profile = get_profile(code)
    text = yaml.safe_dump(profile.definition, sort_keys=False, allow_unicode=True, width=120)
    return f"# export profile {profile.code}: feed at {feed_address(profile)}\n{text}"


def rotate_token(code: str) -> ExportProfile:
    """Give a profile's feed a new secret address; the old one stops answering."""
    with db.transaction():
        profile = get_profile(code)
        profile.token = secrets.token_urlsafe(24)
    return profile


def list_profiles() -> list[ExportProfile]:
    """Return every export profile, by code."""
    return list(db.session.scalars(select(ExportProfile).order_by(ExportProfile.code)))


def delete_profile(code: str) -> None:
    """Delete an export profile, its runs' records and its schedule (published files stay on disk)."""
    with db.transaction() as session:
        profile = get_profile(code)
        profile.schedule = None
        _sync_schedule(profile)
        session.delete(profile)


def profile_summary(profile: ExportProfile, *, base_url: str | None = None) -> dict[str, Any]:
    """Return what the start page and `pim channel list` show of a profile: channel, format, last run, feed."""
    structure = get_structure()
    channel = next((c.code for c in structure.channels.values() if c.id == profile.channel_id), None)
    run = latest_run(profile)
    last = None
    if run is not None:
        counts = run.counts or {}
        last = {
            "run": run.id,
            "job": run.job_id,
            "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
            "exported": counts.get("exported", 0),
            "skipped": counts.get("skipped", 0),
            "reasons": counts.get("reasons", {}),
            "warnings": counts.get("warnings", 0),
            "warning_reasons": counts.get("warning_reasons", {}),
            "report": run.report_path,
            "files": [entry["name"] for entry in run.files],
        }
    return {
        "code": profile.code,
        "label": (profile.labels or {}).get("en_US") or profile.code,
        "channel": channel,
        "format": profile.format,
        "schedule": profile.schedule,
        "feed": feed_address(profile, run.files[0]["name"] if run is not None and run.files else None, base_url=base_url),
        "last_run": last,
    }
