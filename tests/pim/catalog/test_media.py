"""Media files: stored once by content, images decoded within limits before they are accepted."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from pim import db
from pim.catalog.media import media_path, store_media
from pim.catalog.models import MediaFile
from pim.errors import Invalid


def png(width: int = 40, height: int = 30, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def test_same_content_is_stored_once_and_the_original_is_kept(db_session):
    first = store_media(png(), "red boot.png")
    second = store_media(png(), "copy of red boot.png")

    assert first.id == second.id
    assert db.session.scalar(select(func.count()).select_from(MediaFile)) == 1
    assert media_path(first.key).read_bytes() == png()
    assert first.key.endswith("_red_boot.png") and first.mime_type == "image/png"


def test_image_extension_comes_from_its_real_format(db_session):
    media = store_media(png(color=(1, 2, 3)), "photo.jpg")

    assert media.key.endswith(".png")


def test_a_file_that_is_not_an_image_is_refused_as_an_image(db_session):
    with pytest.raises(Invalid, match="not a readable JPEG, PNG, WebP or GIF"):
        store_media(b"%PDF-1.4 not an image", "boot.jpg")


def claiming_size(content: bytes, width: int, height: int) -> bytes:
    """Rewrite a PNG's header to claim another size, as a decompression bomb does."""
    header = b"IHDR" + struct.pack(">II", width, height) + content[24:29]
    return content[:12] + header + struct.pack(">I", zlib.crc32(header)) + content[33:]


def test_an_image_with_too_many_pixels_is_refused(db_session):
    with pytest.raises(Invalid, match="more than 50,000,000 pixels"):
        store_media(claiming_size(png(), 20000, 10000), "bomb.png")


def test_an_empty_or_oversized_file_is_refused(db_session):
    with pytest.raises(Invalid, match="empty"):
        store_media(b"", "nothing.pdf")
    with pytest.raises(Invalid, match="limit"):
        store_media(b"x" * 2048, "big.pdf", max_size=1024)


def test_a_document_is_stored_as_it_is(db_session):
    media = store_media(b"%PDF-1.4\n%%EOF\n", "Datasheet 2024.pdf")

    assert media.key.endswith("_Datasheet_2024.pdf") and media.mime_type == "application/pdf"
    assert media_path(media.key).read_bytes() == b"%PDF-1.4\n%%EOF\n"
