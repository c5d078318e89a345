"""Application factory: configuration, database, blueprints and error handlers."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from markupsafe import escape

from pim import config as default_config
from pim import db
from pim.errors import Conflict, Invalid, NotFound
from pim.resources import resource_path


def instance_path_from_env() -> str:
    """Return the instance folder: PIM_INSTANCE_PATH, or ./instance under the working directory."""
    return os.path.abspath(os.environ.get("PIM_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance"))


def _secret_key(instance: Path) -> str:
    """Return the secret key kept in the instance folder, creating it on first start."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the web application; settings come from defaults, instance/config.py, PIM_* variables."""
    app = Flask(
        "pim",
        instance_path=(test_config or {}).get("INSTANCE_PATH") or instance_path_from_env(),
        instance_relative_config=True,
        template_folder=str(resource_path("templates")),
        static_folder=str(Path(__file__).parent / "static"),
    )
    app.config.from_object(default_config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PIM")
    if test_config:
        app.config.update(test_config)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'pim.sqlite3'}"
    app.config.setdefault("MEDIA_PATH", str(instance / "media"))
    app.config.setdefault("FEEDS_PATH", str(instance / "feeds"))
    from pim.catalog import media

    media.configure(app.config["MEDIA_PATH"])
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "WARNING"))
    logging.getLogger("alembic").setLevel(logging.WARNING)

    engine = db.make_engine(app.config["DATABASE_URL"], busy_timeout_ms=int(app.config["SQLITE_BUSY_TIMEOUT"]))
    app.extensions["pim_engine"] = engine
    db.configure(engine)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        db.session.remove()

    _register_errors(app)
    from pim.publishing.views import bp as feeds_bp
    from pim.web.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(feeds_bp)
    return app


def _register_errors(app: Flask) -> None:
    # Messages quote what the user typed (an identifier in the URL), so HTML bodies are escaped.
    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"

    @app.errorhandler(NotFound)
    def _not_found(error: NotFound):  # type: ignore[no-untyped-def]
        return (jsonify(code=404, message=str(error)), 404) if wants_json() else (escape(str(error)), 404)

    @app.errorhandler(Conflict)
    def _conflict(error: Conflict):  # type: ignore[no-untyped-def]
        return (jsonify(code=409, message=str(error)), 409) if wants_json() else (escape(str(error)), 409)

    @app.errorhandler(Invalid)
    def _invalid(error: Invalid):  # type: ignore[no-untyped-def]
        body = {"code": 422, "message": "Validation failed.", "errors": [e.to_dict() for e in error.errors]}
        return (jsonify(body), 422) if wants_json() else (escape(str(error)), 422)
