"""Media files (images, documents), stored once by content hash under the instance folder."""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import tempfile
import warnings
from pathlib import Path

from sqlalchemy import select

from pim import db
from pim.catalog.models import MediaFile
from pim.errors import ErrorCode, Invalid, NotFound

# Formats we decode; exotic decoders are where image-library advisories cluster.
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
MAX_IMAGE_PIXELS = 50_000_000
_root: Path | None = None


def configure(root: str | os.PathLike[str]) -> None:
    """Set the folder media files are stored under."""
    global _root
    _root = Path(root)


def media_root() -> Path:
    """Return the media folder (the instance's `media/` unless configured otherwise)."""
    if _root is not None:
        return _root
    return Path(os.environ.get("PIM_INSTANCE_PATH") or "instance") / "media"


def _safe_name(filename: str) -> str:
    stem = Path(filename).stem
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem)[:80].strip("_")
    return cleaned or "file"


def _check_image(content: bytes) -> str:
    """Decode an image fully, within limits, and return the extension of its real format."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=list(IMAGE_FORMATS)) as image:
                image.verify()
            with Image.open(io.BytesIO(content), formats=list(IMAGE_FORMATS)) as image:
                image.load()
                return IMAGE_FORMATS[image.format or ""]
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid.one("file", f"The image has more than {MAX_IMAGE_PIXELS:,} pixels", ErrorCode.FILE) from None
    except Exception as exc:  # Pillow raises many kinds for broken files
        raise Invalid.one("file", f"The file is not a readable JPEG, PNG, WebP or GIF image ({exc})", ErrorCode.FILE) from None


def store_media(content: bytes, filename: str, *, is_image: bool | None = None, max_size: int = 50 * 1024 * 1024) -> MediaFile:
    """Store a file once by its SHA-256 (a second upload of the same bytes returns the first)."""
    if len(content) > max_size:
        raise Invalid.one("file", f"The file is {len(content):,} bytes; the limit is {max_size:,}", ErrorCode.FILE)
    if not content:
        raise Invalid.one("file", "The file is empty", ErrorCode.FILE)
    digest = hashlib.sha256(content).hexdigest()
    existing = db.session.scalar(select(MediaFile).where(MediaFile.sha256 == digest))
    if existing is not None:
        return existing
    extension = Path(filename).suffix.lower().lstrip(".")
    if is_image is None:
        is_image = extension in {"jpg", "jpeg", "png", "webp", "gif"}
    if is_image:
        extension = _check_image(content)
    key = f"{digest[:2]}/{digest[2:4]}/{digest}_{_safe_name(filename)}.{extension or 'bin'}"
    path = media_root() / key
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # write then rename, so a crash never leaves a half-written original in place
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(content)
        os.replace(handle.name, path)
    mime = mimetypes.guess_type(f"x.{extension}")[0] or "application/octet-stream"
    with db.transaction() as session:
        media = MediaFile(key=key, sha256=digest, original_filename=filename[:255], mime_type=mime, size=len(content))
        session.add(media)
        session.flush()
    return media


def media_path(key: str) -> Path:
    """Return the path of a stored file; raise NotFound for an unknown key."""
    if db.session.scalar(select(MediaFile.id).where(MediaFile.key == key)) is None:
        raise NotFound(f"Media file {key!r} does not exist")
    return media_root() / key
