"""The `pim` command: serve the application, migrate the database, load and inspect the catalogue."""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import click
from sqlalchemy import func, select

from pim import db
from pim.actor import Actor, Source
from pim.errors import Invalid, PimError


class Progress:
    """Report progress on stderr: a bar on a terminal, a plain line now and then when piped."""

    def __init__(self, label: str, total: int | None):
        self.label = label
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.last = 0.0
        self.shown: int | None = None
        self.is_tty = sys.stderr.isatty()

    def update(self, done: int) -> None:
        """Record how many items are done and redraw when it is time to."""
        self.done = done
        now = time.monotonic()
        if now - self.last < (0.2 if self.is_tty else 5.0) and done != self.total:
            return
        self._draw(now)

    def _draw(self, now: float) -> None:
        done = self.done
        self.last = now
        self.shown = done
        rate = done / max(now - self.started, 1e-9)
        if self.is_tty and self.total:
            width = 30
            filled = int(width * done / self.total)
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} {rate:,.0f}/s")
            sys.stderr.flush()
        else:
            total = f"/{self.total:,}" if self.total else ""
            sys.stderr.write(f"{self.label}: {done:,}{total} ({rate:,.0f}/s)\n")

    def finish(self) -> None:
        """End the progress display, showing the final count when the last line shown is behind it."""
        if self.shown is not None and self.shown != self.done:
            self._draw(time.monotonic())
        if self.is_tty:
            sys.stderr.write("\n")


def _app(ctx: click.Context) -> Any:
    """Return the application, creating it on first use (commands that need no app stay fast)."""
    obj = ctx.ensure_object(dict)
    if "app" not in obj:
        from pim.app import create_app

        obj["app"] = create_app()
    return obj["app"]


def with_app(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command inside an application context, turning domain errors into one-line failures."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        app = _app(ctx)
        debug = ctx.find_root().params.get("debug", False)
        with app.app_context():
            try:
                return command(*args, **kwargs)
            except Invalid as exc:
                for error in exc.errors:
                    click.echo(f"error: {error.field}: {error.message}", err=True)
                ctx.exit(1)
            except PimError as exc:
                click.echo(f"error: {exc}", err=True)
                ctx.exit(1)
            except click.exceptions.Exit:
                raise
            except click.ClickException:
                raise
            except Exception as exc:
                if debug:
                    raise
                # Database errors append the SQL and its parameters on further lines; the first says what failed.
                reason = next(iter(str(exc).splitlines()), "")
                click.echo(f"error: {type(exc).__name__}: {reason} (run with --debug for details)", err=True)
                ctx.exit(1)

    return wrapper


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Product information management: one master catalogue, every channel."""
    ctx.ensure_object(dict)


# --- database -----------------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the revision reached as JSON.")
@with_app
def db_upgrade(revision: str, as_json: bool) -> None:
    """Create or migrate the schema to the newest revision."""
    from flask import current_app

    from pim.migrate import current_revision, upgrade

    engine = current_app.extensions["pim_engine"]
    upgrade(engine, revision)
    if as_json:
        click.echo(json.dumps({"revision": current_revision(engine)}))
    click.echo("Database schema is up to date.", err=True)


@db_group.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print the revision as JSON (null when the database is empty).")
@with_app
def db_current(as_json: bool) -> None:
    """Print the schema revision of the database."""
    from flask import current_app

    from pim.migrate import current_revision

    revision = current_revision(current_app.extensions["pim_engine"])
    click.echo(json.dumps({"revision": revision}) if as_json else revision or "empty")


def ensure_schema() -> None:
    """Migrate the database when it is behind (a new instance gets its schema here)."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    from pim.migrate import alembic_config, current_revision, upgrade

    engine = current_app.extensions["pim_engine"]
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if current_revision(engine) != head:
        upgrade(engine)


# --- serving ------------------------------------------------------------------------------


@main.command()
@click.option("--demo", is_flag=True, help="Load a demo catalogue into an empty instance first.")
@click.option("--demo-products", default=10000, show_default=True, help="Products in the demo catalogue.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_app
def serve(demo: bool, demo_products: int, host: str, port: int) -> None:
    """Run the web application."""
    from flask import current_app
    from werkzeug.serving import run_simple

    from pim.catalog.models import Product
    from pim.jobs.queue import start_embedded_worker

    ensure_schema()
    _show_progress_logs()
    app = current_app._get_current_object()
    if not os.environ.get("PIM_PUBLIC_URL") and app.config.get("PUBLIC_URL") == "http://127.0.0.1:5000":
        # feed and image addresses point at where this server answers
        app.config["PUBLIC_URL"] = f"http://{host}:{port}"
    worker = start_embedded_worker(app, workers=2, scheduler=True)
    try:
        if demo and not db.session.scalar(select(func.count()).select_from(Product)):
            from pim.demo import load_demo

            progress = Progress("Loading demo catalogue", demo_products)
            load_demo(products=demo_products, on_progress=progress.update)
            progress.finish()
            _publish_demo_feeds()
        db.session.remove()
        click.echo(f"PIM is running at http://{host}:{port}/  (Ctrl+C to stop)", err=True)
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        worker.stop()


def _show_progress_logs() -> None:
    """Let the application's INFO lines (jobs started and ended) through in long-running commands."""
    import logging

    logging.getLogger("pim").setLevel(logging.INFO)


def _publish_demo_feeds() -> None:
    """Install every shipped channel preset on the demo catalogue and publish each feed once."""
    from pim.publishing.jobs import start_export
    from pim.publishing.services import install_preset, list_presets, list_profiles

    actor = Actor.from_os_user()
    installed = {profile.code for profile in list_profiles()}
    for preset in list_presets():
        if preset not in installed:
            install_preset(preset, actor=actor)
        outcome = start_export(preset, actor=actor)
        result = outcome.get("result") or {}
        click.echo(f"published {preset}: {result.get('exported', 0):,} products, {result.get('skipped', 0):,} skipped", err=True)


@main.command()
@click.option("--products", default=10000, show_default=True, help="Number of products to generate.")
@click.option("--seed", default=42, show_default=True, help="Random seed, for a repeatable catalogue.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@with_app
def demo(products: int, seed: int, as_json: bool) -> None:
    """Load a realistic synthetic catalogue (families, variants, three locales, four channels)."""
    from pim.demo import load_demo

    ensure_schema()
    progress = Progress("Loading demo catalogue", products)
    started = time.monotonic()
    report = load_demo(products=products, seed=seed, on_progress=progress.update)
    progress.finish()
    elapsed = time.monotonic() - started
    figures = {"created": report.created, "updated": report.updated, "rejected": len(report.rejected), "seconds": round(elapsed, 1)}
    if as_json:
        click.echo(json.dumps(figures))
    else:
        click.echo(f"Loaded {report.created:,} new and {report.updated:,} changed products in {elapsed:.1f} s.")


# --- products -----------------------------------------------------------------------------


@main.group()
def product() -> None:
    """Read and change products."""


@product.command("list")
@click.option("--filter", "filter_json", default="", help='Filter in the Akeneo API search syntax, e.g. {"family":[{"operator":"IN","value":["shoes"]}]}.')
@click.option("--search", default="", help="Full-text search over identifiers and labels.")
@click.option("--sort", default="identifier", show_default=True, help="identifier, updated, created, label or an attribute code.")
@click.option("--desc", is_flag=True, help="Sort in descending order.")
@click.option("--locale", default=None, help="Locale of labels and localizable filters.")
@click.option("--scope", default=None, help="Channel of scopable filters.")
@click.option("--limit", default=50, show_default=True, type=int, help="Products to list (0 for all).")
@click.option("--count", "with_count", is_flag=True, help="Print the number of matches on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines.")
@with_app
def product_list(
    filter_json: str, search: str, sort: str, desc: bool, locale: str | None, scope: str | None, limit: int, with_count: bool, as_json: bool
) -> None:
    """List products: identifier and label, through the query service."""
    from pim.catalog.queries import ProductQuery, count_products, list_products, parse_filters
    from pim.catalog.serialize import label_of
    from pim.structure.snapshot import get_structure

    filters = parse_filters(filter_json)
    if search:
        filters["search"] = [{"operator": "=", "value": search}]
    query = ProductQuery(filters=filters, sort=sort, descending=desc, locale=locale, scope=scope)
    structure = get_structure()
    if with_count:
        click.echo(f"{count_products(query):,} products match", err=True)
    remaining = limit if limit > 0 else None
    after = None
    while remaining is None or remaining > 0:
        size = min(remaining, 500) if remaining is not None else 500
        page = list_products(query, limit=size, after=after)
        for item in page.items:
            label = label_of(item, locale, structure)
            if as_json:
                click.echo(json.dumps({"identifier": item.identifier, "label": label}, ensure_ascii=False))
            else:
                click.echo(f"{item.identifier}\t{label}")
        if remaining is not None:
            remaining -= len(page.items)
        if not page.next_cursor:
            break
        after = page.next_cursor


@product.command("show")
@click.argument("identifier")
@click.option("--completeness", is_flag=True, help="Add completeness per channel and locale.")
@click.option("--channel", default=None, help="Show the values this channel reads (its own, else its fallback's).")
@click.option("--json", "as_json", is_flag=True, help="Print compact JSON (the default is indented).")
@with_app
def product_show(identifier: str, completeness: bool, channel: str | None, as_json: bool) -> None:
    """Print a product in the standard JSON format (values as lists of {locale, scope, data})."""
    from pim.catalog.serialize import product_to_standard
    from pim.catalog.services import get_product

    data = product_to_standard(get_product(identifier), with_completeness=completeness, channel=channel)
    click.echo(json.dumps(data, ensure_ascii=False, indent=None if as_json else 2))


@product.command("update")
@click.argument("identifier")
@click.option("--values", "values_json", default="", help='Values in the standard format, e.g. {"name":[{"locale":"en_US","scope":null,"data":"Boot"}]}.')
@click.option("--family", default=None, help="Family code.")
@click.option("--parent", default=None, help="Product model code.")
@click.option("--categories", default=None, help="Comma-separated category codes (replaces the product's own categories).")
@click.option("--enabled/--disabled", default=None, help="Enable or disable the product.")
@click.option("--version", type=int, default=None, help="Refuse the change unless the product is still at this version.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_app
def product_update(
    identifier: str,
    values_json: str,
    family: str | None,
    parent: str | None,
    categories: str | None,
    enabled: bool | None,
    version: int | None,
    as_json: bool,
) -> None:
    """Change a product with Akeneo's PATCH rules: only the values given change."""
    from pim.catalog.services import update_product

    fields: dict[str, Any] = {}
    if values_json:
        try:
            fields["values"] = json.loads(values_json)
        except json.JSONDecodeError as exc:
            raise Invalid.one("values", f"--values is not valid JSON: {exc.msg} (character {exc.pos})") from exc
    if family is not None:
        fields["family"] = family
    if parent is not None:
        fields["parent"] = parent
    if categories is not None:
        fields["categories"] = [code.strip() for code in categories.split(",") if code.strip()]
    if enabled is not None:
        fields["enabled"] = enabled
    result = update_product(identifier, actor=Actor.from_os_user(), version=version, **fields)
    if result.status == "rejected":
        raise Invalid(result.errors)
    if as_json:
        click.echo(json.dumps({"identifier": identifier, "status": result.status, "version": result.version}))
    else:
        click.echo(f"{identifier}: {result.status}, now at version {result.version}", err=True)


@product.command("load")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Products written per transaction  [default: 2000, as for every bulk upsert]")
@click.option("--check-version", is_flag=True, help="Refuse products whose metadata.version is not the stored one.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_app
def product_load(file: Any, batch_size: int, check_version: bool, as_json: bool) -> None:
    """Create or update products from a JSON Lines file in the standard format (one product per line).

    Every line goes through the batch upsert (validation, completeness, versions); the report
    names each rejected line and why, and the command exits with status 1 when any was.
    """
    from pim.catalog.serialize import inherited_from_models, product_input_from_standard
    from pim.catalog.services import UPSERT_BATCH_SIZE, ProductInput, UpsertReport, upsert_products

    batch_size = batch_size or UPSERT_BATCH_SIZE

    actor = Actor.from_os_user(Source.IMPORT)
    problems: list[dict[str, Any]] = []
    progress = Progress("Loading products", None)
    lines_read = 0

    def inputs(lines: list[tuple[int, Any]]) -> Iterator[ProductInput]:
        parents = {data.get("parent") for _line, data in lines if isinstance(data, dict) and data.get("parent")}
        inherited = inherited_from_models({p for p in parents if isinstance(p, str)})
        for line, data in lines:
            try:
                parent = data.get("parent") if isinstance(data, dict) else None
                values, categories = inherited.get(parent, ({}, [])) if isinstance(parent, str) else ({}, [])
                yield product_input_from_standard(data, row=line, inherited=values, inherited_categories=categories, with_version=check_version)
            except Invalid as exc:
                identifier = data.get("identifier") if isinstance(data, dict) else None
                problems.extend({"line": line, "identifier": identifier, "field": e.field, "message": e.message} for e in exc.errors)

    def items() -> Iterator[ProductInput]:
        # one stream through the upsert, which writes a batch while it reads the next
        nonlocal lines_read
        pending: list[tuple[int, Any]] = []
        for number, text in enumerate(file, start=1):
            if not text.strip():
                continue
            lines_read += 1
            try:
                pending.append((number, json.loads(text)))
            except json.JSONDecodeError as exc:
                problems.append({"line": number, "identifier": None, "field": "line", "message": f"not valid JSON: {exc.msg} (column {exc.colno})"})
            if len(pending) >= batch_size:
                yield from inputs(pending)
                pending = []
        yield from inputs(pending)

    report: UpsertReport = upsert_products(items(), actor=actor, batch_size=batch_size, on_batch=lambda _report: progress.update(lines_read))
    for rejected in report.rejected:
        problems.extend({"line": rejected.row, "identifier": rejected.identifier, "field": e.field, "message": e.message} for e in rejected.errors)
    progress.update(lines_read)
    progress.finish()
    problems.sort(key=lambda p: p["line"] or 0)
    rejected_lines = len({p["line"] for p in problems})
    summary = {"lines": lines_read, "created": report.created, "updated": report.updated, "unchanged": report.unchanged, "rejected": rejected_lines}
    if as_json:
        click.echo(json.dumps({**summary, "problems": problems}, ensure_ascii=False))
    else:
        for problem in problems:
            who = f" ({problem['identifier']})" if problem["identifier"] else ""
            click.echo(f"line {problem['line']}{who}: {problem['field']}: {problem['message']}", err=True)
        click.echo(
            f"{lines_read:,} lines: {report.created:,} created, {report.updated:,} updated, {report.unchanged:,} unchanged, {rejected_lines:,} rejected",
            err=True,
        )
    if rejected_lines:
        click.get_current_context().exit(1)


@product.command("history")
@click.argument("identifier")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines.")
@with_app
def product_history(identifier: str, as_json: bool) -> None:
    """List a product's versions: who, when, from where and what changed."""
    from pim.catalog.services import get_product
    from pim.versioning.services import product_history as history

    for version in history(get_product(identifier).id):
        if as_json:
            click.echo(json.dumps(version, ensure_ascii=False, default=str))
        else:
            job = f" job {version['job_id']}" if version["job_id"] else ""
            click.echo(
                f"v{version['version']}  {version['logged_at']}  {version['author']} ({version['source']}{job})  {', '.join(sorted(version['changes']))}"
            )


@product.command("revert")
@click.argument("identifier")
@click.argument("version", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@with_app
def product_revert(identifier: str, version: int, as_json: bool) -> None:
    """Bring a product back to an earlier version (recorded as a new version)."""
    from pim.catalog.services import revert_product

    result = revert_product(identifier, version, actor=Actor.from_os_user())
    if as_json:
        click.echo(json.dumps({"identifier": identifier, "status": result.status, "version": result.version}))
    click.echo(f"{identifier}: {result.status}, now at version {result.version}", err=True)


# --- catalogue ----------------------------------------------------------------------------


@main.group()
def catalog() -> None:
    """Look at the catalogue as a whole."""


@catalog.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@with_app
def catalog_stats(as_json: bool) -> None:
    """Print counts of products, models, families... and completeness per channel and locale."""
    from pim.catalog.stats import catalog_stats as compute

    stats = compute()
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False))
        return
    for key, value in stats["counts"].items():
        click.echo(f"{key:<20} {value:>12,}")
    click.echo("")
    for row in stats["completeness"]:
        click.echo(f"{row['channel']:<14} {row['locale']:<7} complete {row['complete']:>10,} / {row['products']:,}  ({row['ratio']}%)")


def _register_package_commands() -> None:
    from pim.jobs.cli import register_commands as register_job_commands
    from pim.publishing.cli import register_commands as register_publishing_commands

    register_job_commands(main)
    register_publishing_commands(main)


_register_package_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
