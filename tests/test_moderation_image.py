"""Image checks: limits, corrupt/disguised/huge files rejected with a clear error, real NSFW scores."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from moderation.image_checks import ImageLimits, ImageRejected, validate_image
from moderation.moderator import Moderator


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 160, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_safe_photos_are_not_flagged(text_moderator: Moderator, shared_data: Path) -> None:
    images = sorted((shared_data / "images").iterdir())
    assert images
    for path in images:
        verdict = text_moderator.check_image(path.read_bytes(), filename=path.name)
        assert verdict.decision == "allow", (path.name, verdict.categories)
        assert 0.0 <= verdict.categories["nsfw_image"] < 0.2


def test_corrupt_image_is_rejected(text_moderator: Moderator) -> None:
    truncated = _png(200, 200)[:300]
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        text_moderator.check_image(truncated)


def test_huge_image_is_rejected_before_decoding(text_moderator: Moderator) -> None:
    # A tiny file that declares 20000x20000 pixels (a decompression bomb) is refused from its header.
    huge = _header_only_png(20000, 20000)
    with pytest.raises(ImageRejected, match="too large"):
        text_moderator.check_image(huge)
    with pytest.raises(ImageRejected, match="9000x100 pixels"):
        validate_image(_header_only_png(9000, 100))
    with pytest.raises(ImageRejected, match="limit is"):
        validate_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 2048, limits=ImageLimits(max_bytes=1024))


def test_disguised_and_non_image_files_are_rejected() -> None:
    png = _png(64, 64)
    with pytest.raises(ImageRejected, match="named as JPEG but its content is PNG"):
        validate_image(png, "photo.jpg")
    with pytest.raises(ImageRejected, match="not a JPEG, PNG, GIF or WebP"):
        validate_image(b"<html><script>alert(1)</script></html>", "cat.png")
    with pytest.raises(ImageRejected, match="empty"):
        validate_image(b"")
    with pytest.raises(ImageRejected, match="unsupported file extension"):
        validate_image(png, "tool.exe")
    assert issubclass(ImageRejected, ValueError)


def _header_only_png(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR declaring the size, with one tiny IDAT: cheap to build, huge to decode."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_phone_size_jpeg_is_checked_from_reduced_pixels_and_truncation_still_fails(shared_data: Path) -> None:
    photo = Image.open(shared_data / "images" / "astronaut.png").convert("RGB").resize((4032, 3024))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    info, pixels = validate_image(data, "photo.jpg")
    assert (info.width, info.height) == (4032, 3024)  # the facts come from the header
    assert max(pixels.size) <= 512 and pixels.mode == "RGB"
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        validate_image(data[: len(data) - 4096], "photo.jpg")
