"""The web pages; until the merchandiser UI lands, a product list with search and filters."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from pim.catalog.queries import ProductQuery, list_products, parse_filters
from pim.catalog.serialize import completeness_of, label_of, product_to_standard
from pim.catalog.services import get_product
from pim.errors import Invalid
from pim.structure.snapshot import Structure, get_structure

bp = Blueprint("web", __name__)


def default_locale(structure: Structure) -> str | None:
    """Return the locale labels are shown in: the configured one when active, else the first active."""
    wanted = current_app.config.get("DEFAULT_LOCALE")
    if wanted in structure.active_locales:
        return wanted
    return sorted(structure.active_locales)[0] if structure.active_locales else None


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    """List products, filtered by a search box, a family and a stored-filter JSON."""
    structure = get_structure()
    filters: dict = {}
    search = request.args.get("q", "").strip()
    family = request.args.get("family", "")
    raw_filter = request.args.get("filter", "").strip()
    error = None
    try:
        if raw_filter:
            filters.update(parse_filters(raw_filter))
        if search:
            filters["search"] = [{"operator": "=", "value": search}]
        if family:
            filters["family"] = [{"operator": "IN", "value": [family]}]
        locale = request.args.get("locale") or default_locale(structure)
        query = ProductQuery(filters=filters, sort=request.args.get("sort", "updated"), descending=request.args.get("order", "desc") == "desc", locale=locale)
        page = list_products(query, limit=50, after=request.args.get("after") or None, with_count=True)
    except Invalid as exc:
        error = str(exc)
        page = None
        locale = None
    rows = []
    if page is not None:
        for product in page.items:
            family_info = structure.families_by_id.get(product.family_id) if product.family_id else None
            rows.append({"product": product, "label": label_of(product, locale, structure), "family": family_info.code if family_info else ""})
    from pim.publishing.services import list_profiles, profile_summary

    return render_template(
        "catalog/products.html",
        profiles=[profile_summary(p, base_url=current_app.config.get("PUBLIC_URL") or request.url_root) for p in list_profiles()],
        page=page,
        rows=rows,
        error=error,
        families=sorted(structure.families),
        args=request.args,
    )


@bp.get("/products/<identifier>")
def show(identifier: str):  # type: ignore[no-untyped-def]
    """Show one product: its values and its completeness per channel and locale."""
    product = get_product(identifier)
    data = product_to_standard(product)
    return render_template("catalog/product.html", product=product, data=data, completeness=completeness_of(product))


@bp.get("/media/<path:key>")
def media_file(key: str):  # type: ignore[no-untyped-def]
    """Serve a stored media file by its key (the address feeds give for product images)."""
    from flask import send_file

    from pim.catalog.media import media_path

    response = send_file(media_path(key), conditional=True, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/media/renditions/<spec>/<name>")
def rendition_file(spec: str, name: str):  # type: ignore[no-untyped-def]
    """Serve an image rendition made for a channel (the address feeds give when a profile resizes)."""
    import re

    from flask import send_file

    from pim.catalog.media import media_root
    from pim.errors import NotFound

    if not re.fullmatch(r"[0-9a-f]{12}", spec) or not re.fullmatch(r"[0-9a-f]{64}\.(jpg|png|webp)", name):
        raise NotFound("No such rendition")
    path = media_root() / "renditions" / spec / name
    if not path.is_file():
        raise NotFound("No such rendition")
    response = send_file(path, conditional=True, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
