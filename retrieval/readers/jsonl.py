"""JSON Lines: one product object per line; the row number is the 1-based line number."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from retrieval.models import Product, RejectedRow
from retrieval.readers.mapping import to_row


def read_jsonl(path: Path) -> Iterator[Product | RejectedRow]:
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RejectedRow(row=line_no, error=f"invalid JSON: {exc.msg}")
                continue
            yield to_row(line_no, record)
