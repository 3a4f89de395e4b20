"""Exactly-once bulk event loads: how far each events file has been loaded, committed in the same transaction as
its events, so a load killed part-way resumes after its last committed line and a finished file is not loaded
twice."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, insert, select, update

metadata = MetaData()

loads_table = Table(
    "event_loads",
    metadata,
    Column("load_key", String(64), primary_key=True),  # sha256 of the file's bytes
    Column("last_line", Integer, nullable=False),
)


def file_key(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class EventLoads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def loaded_up_to(self, key: str) -> int:
        """The last line of the file with KEY whose events are committed (0: none)."""
        with self.engine.connect() as conn:
            line = conn.execute(select(loads_table.c.last_line).where(loads_table.c.load_key == key)).scalar()
        return int(line or 0)

    @staticmethod
    def record(conn: Connection, key: str, last_line: int) -> None:
        """Inside the transaction that commits the events up to LAST_LINE."""
        changed = conn.execute(
            update(loads_table).where(loads_table.c.load_key == key).values(last_line=last_line)
        ).rowcount
        if not changed:
            conn.execute(insert(loads_table).values(load_key=key, last_line=last_line))

    def forget(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(loads_table.delete().where(loads_table.c.load_key == key))
