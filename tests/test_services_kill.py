"""SIGKILL in the middle of a store action on PostgreSQL: the moment before its commit, so the order change and its
audit row are written but not committed. Nothing of it survives, and the same action then goes through whole."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from service_engines import ROOT, Engines, base_env, cli

from assistant.db import make_engine
from assistant.store import StoreDB, StoreTools

pytestmark = pytest.mark.services

KILL_AT_COMMIT = textwrap.dedent(
    """
    import os, signal, sys
    from sqlalchemy import event
    from assistant.db import make_engine
    from assistant.store import StoreDB, StoreTools
    engine = make_engine(sys.argv[1])
    tools = StoreTools(StoreDB(engine))
    event.listen(engine, "commit", lambda conn: os.kill(os.getpid(), signal.SIGKILL))
    tools.cancel_pending_order(sys.argv[2], "no longer needed", acting_user=sys.argv[3])
    """
)


def test_sigkill_mid_store_action_on_postgres(engines: Engines, tmp_path: Path) -> None:
    loaded = cli("store", "import", str(ROOT / "assistant" / "sample_store"), env=base_env(tmp_path / "d", engines))
    assert loaded.returncode == 0, loaded.stderr
    db = StoreDB(make_engine(engines.database_url))
    with db.engine.connect() as conn:
        order_id, user_id = conn.exec_driver_sql(
            "SELECT order_id, user_id FROM store_orders WHERE status = 'pending' ORDER BY order_id LIMIT 1"
        ).one()
    before, user_before = db.order(order_id), db.user(user_id)

    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT_COMMIT, engines.database_url, order_id, user_id],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert db.order(order_id) == before
    assert db.user(user_id) == user_before
    assert db.audit_log(target=order_id) == []
    StoreTools(db).cancel_pending_order(order_id, "no longer needed", acting_user=user_id)
    assert db.order(order_id).status == "cancelled"
    db.engine.dispose()
