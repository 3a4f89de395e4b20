"""CSV with a header row; the row number is the file's line number (the header is line 1)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from retrieval.models import Product, RejectedRow
from retrieval.readers.mapping import to_row


def read_csv(path: Path) -> Iterator[Product | RejectedRow]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            return
        for record in reader:
            row = reader.line_num
            if None in record:  # more cells than header columns
                yield RejectedRow(row=row, error="more values than header columns")
                continue
            yield to_row(row, {k: v for k, v in record.items() if k is not None})
