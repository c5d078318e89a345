"""Image renditions for channels: resized, oriented, sRGB, flattened copies of stored images.

A profile's `images` settings (size, format, background, quality) make one rendition per source
image, stored under `<media>/renditions/<settings key>/` and named after the source's content
hash, so a second export with the same settings finds every rendition made and makes none.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from pim.catalog.media import IMAGE_FORMATS, MAX_IMAGE_PIXELS, media_root
from pim.errors import ErrorCode, FieldError

FORMATS = {"jpeg": ("JPEG", "jpg"), "png": ("PNG", "png"), "webp": ("WEBP", "webp")}
SETTINGS = {"width", "height", "format", "background", "quality", "pad"}


@dataclass(frozen=True)
class RenditionSpec:
    """How a channel wants its images: a box to fit in, a file format, a background, a quality."""

    width: int
    height: int
    format: str = "jpeg"
    background: str = "#ffffff"
    quality: int = 85
    pad: bool = False

    @property
    def key(self) -> str:
        """Return a short name of these settings, used as the renditions' folder."""
        payload = orjson.dumps([self.width, self.height, self.format, self.background.lower(), self.quality, self.pad])
        return hashlib.blake2b(payload, digest_size=6).hexdigest()

    @property
    def extension(self) -> str:
        """Return the file extension of the rendition format."""
        return FORMATS[self.format][1]

    def file_name(self, media_key: str) -> str:
        """Return the rendition's file name for a stored image (its content hash)."""
        stem = Path(media_key).name.split("_", 1)[0]
        return f"{stem}.{self.extension}"


def read_spec(raw: Any) -> tuple[RenditionSpec | None, list[FieldError]]:
    """Check a profile's `images` settings; return the spec (None when absent) and every problem."""
    if raw is None:
        return None, []
    errors: list[FieldError] = []
    if not isinstance(raw, Mapping):
        return None, [FieldError("images", "images takes {width, height, format, background, quality}", ErrorCode.INVALID_FORMAT)]
    for key in raw:
        if key not in SETTINGS:
            errors.append(FieldError(f"images.{key}", f"Unknown image setting {key!r}; known: {', '.join(sorted(SETTINGS))}", ErrorCode.UNKNOWN))
    sizes = {}
    for name in ("width", "height"):
        value = raw.get(name, raw.get("width") if name == "height" else None)
        if isinstance(value, bool) or not isinstance(value, int) or not 16 <= value <= 6000:
            errors.append(FieldError(f"images.{name}", f"images {name} takes a number of pixels from 16 to 6000, got {value!r}", ErrorCode.INVALID_FORMAT))
            value = 800
        sizes[name] = value
    image_format = str(raw.get("format", "jpeg")).lower()
    if image_format not in FORMATS:
        errors.append(FieldError("images.format", f"images format takes one of {', '.join(FORMATS)}, got {image_format!r}", ErrorCode.INVALID_FORMAT))
        image_format = "jpeg"
    background = str(raw.get("background", "#ffffff"))
    if not _is_colour(background):
        errors.append(FieldError("images.background", f"images background takes a colour such as #ffffff, got {background!r}", ErrorCode.INVALID_FORMAT))
        background = "#ffffff"
    quality = raw.get("quality", 85)
    if isinstance(quality, bool) or not isinstance(quality, int) or not 30 <= quality <= 100:
        errors.append(FieldError("images.quality", f"images quality takes 30 to 100, got {quality!r}", ErrorCode.INVALID_FORMAT))
        quality = 85
    spec = RenditionSpec(sizes["width"], sizes["height"], image_format, background, quality, bool(raw.get("pad", False)))
    return (None if errors else spec), errors


def _is_colour(text: str) -> bool:
    return len(text) == 7 and text.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in text[1:])


def rendition_path(spec: RenditionSpec, media_key: str) -> Path:
    """Return where the rendition of a stored image lives."""
    return media_root() / "renditions" / spec.key / spec.file_name(media_key)


def make_rendition(source: Path, target: Path, spec: RenditionSpec) -> None:
    """Write the rendition of one image: EXIF orientation applied, sRGB, alpha flattened, fitted.

    Images are only made smaller, never enlarged (channels refuse scaled-up pictures); with
    `pad` the picture is centred on the background to the exact size.
    """
    from PIL import Image, ImageCms, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(source, formats=list(IMAGE_FORMATS)) as opened:
            if opened.format == "JPEG":
                # decode a big photo at 1/2, 1/4 or 1/8 scale when that still leaves twice the
                # box (as Pillow's own thumbnail does); a quarter turn swaps the box's sides
                turned = opened.getexif().get(0x0112, 1) in (5, 6, 7, 8)
                width, height = (spec.height, spec.width) if turned else (spec.width, spec.height)
                opened.draft(opened.mode, (2 * width, 2 * height))
            image = ImageOps.exif_transpose(opened)
            icc = image.info.get("icc_profile")
            if icc:
                try:
                    source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                    srgb = ImageCms.createProfile("sRGB")
                    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") else "RGB"
                    image = ImageCms.profileToProfile(image, source_profile, srgb, outputMode=mode)
                except (ImageCms.PyCMSError, OSError, ValueError):
                    pass  # a broken colour profile: keep the pixels as they are
            background = tuple(int(spec.background[i : i + 2], 16) for i in (1, 3, 5))
            has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
            if has_alpha and (spec.format == "jpeg" or spec.pad):
                rgba = image.convert("RGBA")
                flat = Image.new("RGB", rgba.size, background)
                flat.paste(rgba, mask=rgba.getchannel("A"))
                image = flat
            elif image.mode not in ("RGB", "RGBA"):
                image = image.convert("RGBA" if has_alpha else "RGB")
            image.thumbnail((spec.width, spec.height), Image.Resampling.LANCZOS)
            if spec.pad and image.size != (spec.width, spec.height):
                canvas = Image.new("RGB", (spec.width, spec.height), background)
                canvas.paste(image, ((spec.width - image.width) // 2, (spec.height - image.height) // 2))
                image = canvas
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=".tmp-", delete=False)  # noqa: SIM115 - renamed below
            try:
                with handle:
                    save_format = FORMATS[spec.format][0]
                    options: dict[str, Any] = {"quality": spec.quality} if save_format in ("JPEG", "WEBP") else {"optimize": True}
                    if save_format == "JPEG":
                        options["progressive"] = True
                    image.save(handle, save_format, **options)
                # temporary files are private; a rendition is served to anyone with the feed
                os.chmod(handle.name, 0o644)
                os.replace(handle.name, target)
            finally:
                Path(handle.name).unlink(missing_ok=True)


@dataclass
class RenditionResult:
    """What making the renditions of a run did."""

    made: int = 0
    cached: int = 0
    failed: dict[str, str] | None = None


def ensure_renditions(spec: RenditionSpec, media_keys: Iterable[str], *, workers: int = 2) -> RenditionResult:
    """Make the renditions that do not exist yet, several at once; return counts and failures."""
    root = media_root()
    result = RenditionResult(failed={})
    todo = []
    for key in dict.fromkeys(media_keys):
        target = rendition_path(spec, key)
        if target.exists():
            result.cached += 1
        else:
            todo.append((key, target))
    if not todo:
        return result

    def make(item: tuple[str, Path]) -> tuple[str, str | None]:
        key, target = item
        try:
            make_rendition(root / key, target, spec)
        except Exception as exc:  # a broken or missing source: reported per image
            return key, f"{type(exc).__name__}: {exc}"
        return key, None

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for key, error in pool.map(make, todo):
            if error is None:
                result.made += 1
            else:
                assert result.failed is not None
                result.failed[key] = error
    return result
