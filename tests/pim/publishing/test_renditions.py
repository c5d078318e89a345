"""Image renditions for channels: turned upright, fitted, flattened, sRGB, made once and cached."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from pim.catalog import media
from pim.publishing.renditions import RenditionSpec, ensure_renditions, make_rendition, read_spec, rendition_path

RED, BLUE, GREEN = (220, 20, 30), (20, 40, 220), (0, 255, 0)


def two_halves(size: tuple[int, int]) -> Image.Image:
    """A picture whose left half is red and right half blue, to see which way it ends up."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 30) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def saved(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path


def rendition(source: Path, spec: RenditionSpec) -> Image.Image:
    target = source.with_name(source.stem + "-rendition." + spec.extension)
    make_rendition(source, target, spec)
    with Image.open(target) as made:
        made.load()
        return made


@pytest.mark.parametrize("size", [(400, 200), (4000, 2000)])
def test_a_photo_taken_sideways_is_turned_upright_and_fitted(tmp_path: Path, size: tuple[int, int]) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: shown rotated a quarter turn clockwise
    source = saved(two_halves(size), tmp_path / "sideways.jpg", exif=exif.tobytes(), quality=92)

    made = rendition(source, RenditionSpec(300, 300))

    assert made.size == (150, 300)
    # the stored picture's left (red) half is the top of the upright one
    assert near(made.getpixel((75, 20)), RED) and near(made.getpixel((75, 280)), BLUE)
    assert made.format == "JPEG" and made.mode == "RGB"


def test_a_big_photo_comes_out_at_the_box_size_with_its_colours(tmp_path: Path) -> None:
    source = saved(two_halves((6000, 4000)), tmp_path / "big.jpg", quality=90)

    made = rendition(source, RenditionSpec(600, 600, quality=85))

    assert made.size == (600, 400)
    assert near(made.getpixel((100, 200)), RED) and near(made.getpixel((500, 200)), BLUE)


def test_a_small_picture_is_never_enlarged(tmp_path: Path) -> None:
    source = saved(two_halves((120, 80)), tmp_path / "small.png")

    assert rendition(source, RenditionSpec(800, 800)).size == (120, 80)


def test_transparency_is_flattened_on_the_background_for_jpeg(tmp_path: Path) -> None:
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    image.paste((*RED, 255), (25, 25, 75, 75))
    source = saved(image, tmp_path / "cut-out.png")

    made = rendition(source, RenditionSpec(100, 100, background="#00ff00"))

    assert made.mode == "RGB"
    assert near(made.getpixel((5, 5)), GREEN) and near(made.getpixel((50, 50)), RED)


def test_pad_centres_the_picture_on_the_background_at_the_exact_size(tmp_path: Path) -> None:
    source = saved(two_halves((200, 100)), tmp_path / "wide.png")

    made = rendition(source, RenditionSpec(200, 200, format="png", background="#00ff00", pad=True))

    assert made.size == (200, 200)
    assert near(made.getpixel((100, 10)), GREEN) and near(made.getpixel((10, 100)), RED) and near(made.getpixel((190, 100)), BLUE)


def test_cmyk_and_other_colour_profiles_come_out_as_srgb(tmp_path: Path) -> None:
    cmyk = saved(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), tmp_path / "print.jpg", quality=95)
    srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    tagged = saved(Image.new("RGB", (64, 64), RED), tmp_path / "tagged.jpg", icc_profile=srgb_profile.tobytes(), quality=95)

    from_cmyk = rendition(cmyk, RenditionSpec(64, 64))
    from_tagged = rendition(tagged, RenditionSpec(64, 64))

    assert from_cmyk.mode == "RGB" and from_cmyk.getpixel((32, 32))[0] > 200 and from_cmyk.getpixel((32, 32))[1] < 80
    assert from_tagged.mode == "RGB" and near(from_tagged.getpixel((32, 32)), RED)


def test_renditions_are_made_once_and_failures_named_per_image(tmp_path: Path) -> None:
    media.configure(tmp_path / "media")
    try:
        folder = tmp_path / "media" / "ab" / "cd"
        folder.mkdir(parents=True)
        good = saved(two_halves((300, 300)), folder / "abcd01_shoe.jpg")
        broken = folder / "abcd02_broken.jpg"
        broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a picture")
        keys = [str(path.relative_to(tmp_path / "media")) for path in (good, broken)]
        spec = RenditionSpec(100, 100)

        first = ensure_renditions(spec, [*keys, keys[0]])
        second = ensure_renditions(spec, keys)

        assert (first.made, first.cached, sorted(first.failed or {})) == (1, 0, [keys[1]])
        assert (second.made, second.cached) == (0, 1)
        assert rendition_path(spec, keys[0]).is_file()
        assert "UnidentifiedImageError" in (first.failed or {})[keys[1]] or "OSError" in (first.failed or {})[keys[1]]
    finally:
        media._root = None


def test_settings_are_checked_with_every_problem_named() -> None:
    spec, errors = read_spec({"width": 5, "height": 600, "format": "gif", "background": "white", "quality": 10, "sharpen": True})

    assert spec is None
    assert sorted(error.field for error in errors) == ["images.background", "images.format", "images.quality", "images.sharpen", "images.width"]
    assert read_spec({"width": 600})[0] == RenditionSpec(600, 600)


def test_settings_key_names_a_folder_per_set_of_settings() -> None:
    assert RenditionSpec(600, 600).key == RenditionSpec(600, 600).key != RenditionSpec(600, 600, quality=80).key
    assert RenditionSpec(600, 600, format="webp").file_name("ab/cd/abcd01_shoe.jpg") == "abcd01.webp"


def test_rendition_of_a_decompression_bomb_is_refused(tmp_path: Path) -> None:
    header = io.BytesIO()
    Image.new("L", (1, 1)).save(header, "PNG")
    bomb = tmp_path / "bomb.png"
    # a PNG header claiming 100,000 x 100,000 pixels
    data = bytearray(header.getvalue())
    data[16:24] = (100_000).to_bytes(4, "big") * 2
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    bomb.write_bytes(bytes(data))

    with pytest.raises((Image.DecompressionBombError, Image.DecompressionBombWarning)):
        make_rendition(bomb, tmp_path / "bomb-rendition.jpg", RenditionSpec(100, 100))
