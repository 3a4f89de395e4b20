"""Warms the models in the background so the server answers at once and `/healthz` says when it is ready.

Each step touches one component the way a first request would (building it, running one tiny call), so the
first real chat does not pay for loading. Steps come in stages: the stages run in order, the steps of a stage at
the same time (loading models is partly I/O and native code that releases the GIL). A step that fails is
reported by name with its error; the others go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class StepState:
    status: str = "pending"  # pending | loading | ready | error
    seconds: float | None = None
    error: str | None = None


Step = Callable[[], object]


@dataclass
class Readiness:
    stages: list[dict[str, Step]]
    state: dict[str, StepState] = field(default_factory=dict)
    started_at: float = field(default_factory=time.monotonic)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.state = {name: StepState() for stage in self.stages for name in stage}

    def start(self) -> None:
        """Runs the steps in order in a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="warmup", daemon=True)
            self._thread.start()

    def run(self) -> None:
        for stage in self.stages:
            workers = [
                threading.Thread(target=self._run_step, args=(name, step), name=f"warmup-{name}")
                for name, step in stage.items()
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()

    def _run_step(self, name: str, step: Step) -> None:
        state = self.state[name]
        state.status = "loading"
        began = time.perf_counter()
        try:
            step()
        except Exception as exc:  # a component that cannot load is reported, not fatal to the server
            log.exception("warm-up step %s failed", name)
            state.status, state.error = "error", f"{type(exc).__name__}: {exc}"
        else:
            state.status = "ready"
        state.seconds = round(time.perf_counter() - began, 3)

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    @property
    def done(self) -> bool:
        return all(s.status in ("ready", "error") for s in self.state.values())

    @property
    def ready(self) -> bool:
        return all(s.status == "ready" for s in self.state.values())

    def report(self) -> dict[str, object]:
        status = "ok" if self.ready else ("degraded" if self.done else "starting")
        return {
            "status": status,
            "ready": self.ready,
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "components": {name: {k: v for k, v in vars(s).items() if v is not None} for name, s in self.state.items()},
        }
