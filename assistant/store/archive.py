"""Where a store to import comes from: a retail-store folder, or a zip of one (the files at the top of the archive or
inside one folder), unpacked into a scratch folder that is removed afterwards."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from assistant.store.importer import STORE_FILES, StoreFormatError

# A store archive holds a few JSON files and a policy; anything far bigger is not one (or is a zip bomb).
MAX_UNPACKED_BYTES = 1 << 30
MAX_MEMBERS = 10_000


@contextmanager
def store_folder(path: Path, scratch_parent: Path) -> Iterator[Path]:
    """The retail-store folder at `path`: the folder itself, or a zip's contents unpacked under `scratch_parent`."""
    if path.is_dir():
        yield path
        return
    if not path.exists():
        raise StoreFormatError(f"{path} does not exist")
    if not zipfile.is_zipfile(path):
        raise StoreFormatError(f"{path} is neither a folder nor a zip archive of a retail-store folder")
    scratch_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="store-import-", dir=scratch_parent) as scratch:
        yield _unpack(path, Path(scratch))


def _unpack(path: Path, into: Path) -> Path:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise StoreFormatError(f"{path.name}: too large to be a retail-store archive")
            for member in members:
                parts = PurePosixPath(member.filename).parts
                if member.filename.startswith("/") or ".." in parts:
                    raise StoreFormatError(f"{path.name}: unsafe path in archive: {member.filename}")
            archive.extractall(into)
    except (zipfile.BadZipFile, OSError) as exc:
        raise StoreFormatError(f"{path.name}: cannot unpack ({exc})") from exc
    candidates = [into, *sorted(p for p in into.iterdir() if p.is_dir() and not p.name.startswith("__MACOSX"))]
    for folder in candidates:
        if all((folder / name).is_file() for name in STORE_FILES):
            return folder
    raise StoreFormatError(
        f"{path.name} lacks {', '.join(STORE_FILES)} at its top or in one folder (expected the retail-store format)"
    )
