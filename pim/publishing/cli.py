"""`pim channel ...` and `pim export ...`: install, edit and run export profiles from the command line."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import yaml

from pim.actor import Actor
from pim.errors import Invalid


class _ExportGroup(click.Group):
    """`pim export PROFILE` runs a profile; `pim export explain ...` and `pim export list` are subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        elif not args:
            args = ["run"]
        return super().parse_args(ctx, args)


def register_commands(main: click.Group) -> None:
    """Add the channel and export commands to the root `pim` group."""
    from pim.cli import with_app

    @main.group("channel")
    def channel_group() -> None:
        """Install, show and apply export profiles (publishing definitions on a channel)."""

    @channel_group.command("install")
    @click.argument("preset")
    @click.option("--code", default=None, help="Name of the export profile (default: the preset's name).")
    @click.option("--channel", default=None, help="Publish from this existing channel.")
    @click.option("--fallback", default=None, help="Make a new channel named like the profile whose values fall back to this one.")
    @click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
    @with_app
    def channel_install(preset: str, code: str | None, channel: str | None, fallback: str | None, as_json: bool) -> None:
        """Create an export profile from a shipped preset (webshop, google_merchant, yandex_market, ...)."""
        from pim.publishing.services import feed_address, install_preset

        profile = install_preset(preset, code=code, channel=channel, fallback=fallback, actor=Actor.from_os_user())
        channel_code = profile.definition["channel"]
        wait_for_completeness(channel_code)
        if as_json:
            click.echo(json.dumps({"code": profile.code, "channel": channel_code, "format": profile.format, "feed": feed_address(profile)}))
        else:
            click.echo(f"installed {profile.code} ({profile.format}) on channel {channel_code}; feed at {feed_address(profile)}")

    @channel_group.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON Lines.")
    @with_app
    def channel_list(as_json: bool) -> None:
        """List export profiles with their channel, format and last run."""
        from pim.publishing.services import list_profiles, profile_summary

        for profile in list_profiles():
            summary = profile_summary(profile)
            if as_json:
                click.echo(json.dumps(summary, ensure_ascii=False, default=str))
            else:
                last = summary["last_run"]
                state = f"last run {last['finished_at']}: {last['exported']} exported, {last['skipped']} skipped" if last else "never run"
                click.echo(f"{profile.code}\t{summary['format']}\t{summary['channel']}\t{state}")

    @channel_group.command("presets")
    @click.option("--json", "as_json", is_flag=True, help="Print the presets as a JSON list.")
    def channel_presets(as_json: bool) -> None:
        """List the presets shipped with the application."""
        from pim.publishing.services import list_presets

        if as_json:
            click.echo(json.dumps(list_presets()))
            return
        for name in list_presets():
            click.echo(name)

    @channel_group.command("show")
    @click.argument("code")
    @click.option("--json", "as_json", is_flag=True, help="Print the definition as JSON instead of YAML.")
    @with_app
    def channel_show(code: str, as_json: bool) -> None:
        """Print an export profile's definition as YAML, with its feed address."""
        from pim.publishing.export import get_profile
        from pim.publishing.services import feed_address, show_definition

        if as_json:
            profile = get_profile(code)
            click.echo(json.dumps({"definition": profile.definition, "feed": feed_address(profile)}, ensure_ascii=False))
            return
        click.echo(show_definition(code), nl=False)

    @channel_group.command("apply")
    @click.argument("file", type=click.File("r", encoding="utf-8"))
    @click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
    @with_app
    def channel_apply(file: Any, as_json: bool) -> None:
        """Check a definition file and create or replace the export profile it describes."""
        from pim.publishing.services import apply_definition

        try:
            raw = yaml.safe_load(file)
        except yaml.YAMLError as exc:
            raise Invalid.one(getattr(file, "name", "file"), f"The file is not valid YAML: {exc}") from exc
        profile, is_new = apply_definition(raw, actor=Actor.from_os_user())
        if as_json:
            click.echo(json.dumps({"code": profile.code, "created": is_new}))
        else:
            click.echo(f"{'created' if is_new else 'updated'} export profile {profile.code}")

    @channel_group.command("rotate-token")
    @click.argument("code")
    @click.option("--json", "as_json", is_flag=True, help="Print the new address as JSON.")
    @with_app
    def channel_rotate(code: str, as_json: bool) -> None:
        """Give a profile's feed a new secret address (the old one stops working)."""
        from pim.publishing.services import feed_address, rotate_token

        address = feed_address(rotate_token(code))
        click.echo(json.dumps({"feed": address}) if as_json else address)

    @main.group("export", cls=_ExportGroup)
    def export_group() -> None:
        """Run export profiles: `pim export PROFILE [--delta] [--output PATH]`, `pim export --due`."""

    @export_group.command("run")
    @click.argument("profile", required=False)
    @click.option("--delta", is_flag=True, help="Only products changed since the last successful run.")
    @click.option("--output", type=click.Path(dir_okay=True, writable=True), default=None, help="Also copy the feed here.")
    @click.option("--due", is_flag=True, help="Run every profile whose schedule is due.")
    @click.option("--no-wait", is_flag=True, help="Queue the export for a worker and return at once.")
    @click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
    @with_app
    def export_run(profile: str | None, delta: bool, output: str | None, due: bool, no_wait: bool, as_json: bool) -> None:
        """Export one profile (as a job) and print where it published and what it left out."""
        from pim.publishing.jobs import fire_due, start_export

        if due:
            fired = fire_due()
            if as_json:
                click.echo(json.dumps({"queued": fired}))
            else:
                click.echo(f"queued {len(fired)} due export(s): {', '.join(fired) or 'none'}", err=True)
            return
        if not profile:
            raise click.UsageError("Name the export profile to run, or give --due.")
        outcome = start_export(profile, is_delta=delta, output=output, wait=not no_wait, actor=Actor.from_os_user())
        _echo_outcome(outcome, as_json)

    @main.command("labels")
    @click.argument("profile")
    @click.option("--changed-since-last", is_flag=True, help="Only labels whose content changed since the last label run of this profile.")
    @click.option("--sku", "skus", multiple=True, help="Print the labels of these products (repeat the option).")
    @click.option("--output", type=click.Path(dir_okay=True, writable=True), default=None, help="Also copy the label sheets here.")
    @click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
    @with_app
    def labels(profile: str, changed_since_last: bool, skus: tuple[str, ...], output: str | None, as_json: bool) -> None:
        """Print shelf labels of a labels profile: all, chosen SKUs, or those whose content changed."""
        from pim.publishing.export import get_profile, latest_run, load_definition
        from pim.publishing.jobs import start_export

        found = get_profile(profile)
        _definition, feed_format = load_definition(found)
        if not feed_format.prints_on_demand:
            raise Invalid.one("profile", f"{found.code} publishes a {feed_format.code} feed, not labels; run it with `pim export {found.code}`")
        is_delta = changed_since_last
        if is_delta and latest_run(found) is None:
            click.echo(f"{found.code} has printed no labels yet: printing every label", err=True)
            is_delta = False
        outcome = start_export(found.code, is_delta=is_delta, output=output, skus=list(skus) if skus else None, actor=Actor.from_os_user())
        _echo_outcome(outcome, as_json)

    @export_group.command("explain")
    @click.argument("profile")
    @click.argument("sku")
    @click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
    @with_app
    def export_explain(profile: str, sku: str, as_json: bool) -> None:
        """Tell whether a product is in a profile's feed, why not, and the record the channel would get."""
        from pim.publishing.export import explain

        data = explain(profile, sku)
        if as_json:
            click.echo(json.dumps(data, ensure_ascii=False))
            return
        if data["in_feed"]:
            click.echo(f"{sku} is in the {profile} feed.")
        else:
            click.echo(f"{sku} is NOT in the {profile} feed:")
            for reason in data["reasons"]:
                click.echo(f"  - {reason['reason']}: {reason['message']}")
        if data["warnings"]:
            click.echo("published with warnings:")
            for warning in data["warnings"]:
                click.echo(f"  - {warning['reason']}: {warning['message']}")
        if data["record"] is not None:
            click.echo("record the channel would receive:")
            click.echo(yaml.safe_dump(data["record"], sort_keys=False, allow_unicode=True, width=120), nl=False)
        sys.stdout.flush()


def _echo_outcome(outcome: dict[str, Any], as_json: bool) -> None:
    """Print what an export published and what it left out (or that it was queued)."""
    if as_json:
        click.echo(json.dumps(outcome, ensure_ascii=False, default=str))
        return
    if outcome.get("status") == "queued":
        click.echo(f"queued job {outcome['job']}; `pim job show {outcome['job']}` follows it", err=True)
        return
    result = outcome.get("result") or {}
    for entry in result.get("files", []):
        click.echo(f"published {entry['name']} ({entry['size']:,} bytes) at {outcome.get('feed', '')}")
    click.echo(
        f"{result.get('exported', 0):,} exported, {result.get('skipped', 0):,} skipped"
        + (f", {result.get('unchanged', 0):,} unchanged, {result.get('deleted', 0):,} deleted" if result.get("delta") else "")
        + (f"; report {result['report']}" if result.get("report") else ""),
        err=True,
    )
    for reason, count in sorted((result.get("reasons") or {}).items(), key=lambda item: -item[1]):
        click.echo(f"  {count:>8,}  {reason}", err=True)
    if result.get("warnings"):
        click.echo(f"{result['warnings']:,} warnings about published products (in the report):", err=True)
        for reason, count in sorted((result.get("warning_reasons") or {}).items(), key=lambda item: -item[1]):
            click.echo(f"  {count:>8,}  {reason}", err=True)
    if result.get("output"):
        click.echo(f"copied to {result['output']}", err=True)


def wait_for_completeness(channel: str) -> None:
    """See through the completeness jobs a change of a channel queued, showing their progress."""
    from pim.catalog.jobs import pending_for_channel
    from pim.jobs.cli import run_or_wait

    for job in pending_for_channel(channel):
        run_or_wait(job)
