"""One small HTML report per evaluation run: headline metrics, tables and PNG plots, plus `summary.json`."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on servers and in CI


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[Sequence[Any]]


@dataclass
class Report:
    title: str
    metrics: dict[str, Any]
    tables: list[Table] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)

    def write(self, out_dir: Path) -> Path:
        """Writes `report.html` and `summary.json` into `out_dir`; figures must already be inside it."""
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "summary.json").write_text(json.dumps(self.metrics, indent=2, ensure_ascii=False, default=str))
        parts = [
            f"<!doctype html><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
            "font-size:13px}th{background:#f3f3f3}img{max-width:100%}</style>",
            f"<h1>{html.escape(self.title)}</h1><p>{datetime.now(UTC).isoformat(timespec='seconds')}</p>",
            _table_html(Table("Summary", ["metric", "value"], [[k, _fmt(v)] for k, v in _flat(self.metrics)])),
        ]
        parts += [f"<h2>{html.escape(f.stem)}</h2><img src='{html.escape(f.name)}'>" for f in self.figures]
        parts += [_table_html(t) for t in self.tables]
        path = out_dir / "report.html"
        path.write_text("\n".join(parts), encoding="utf-8")
        return path


def _flat(metrics: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            items += _flat(value, f"{prefix}{key}.")
        else:
            items.append((f"{prefix}{key}", value))
    return items


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in table.rows)
    return f"<h2>{html.escape(table.title)}</h2><table><tr>{head}</tr>{body}</table>"
