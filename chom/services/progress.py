"""Live "step i of n" for running operations, saved a few times a second.

The job's session is busy applying a batch, and a commit per step (hundreds per batch) would
make the program's output wait on the database. Steps are noted in memory; a small thread
saves the latest one of each operation every `interval` seconds through its own connection,
so a slow step shows as soon as it starts, and the job's session is never flushed or expired.
"""

from __future__ import annotations

import threading

from sqlalchemy import update
from sqlalchemy.engine import Engine

from chom.models import Operation

_operations = Operation.__table__


class ProgressWriter:
    """`note()` from the job; saved in the background while the `with` block runs."""

    def __init__(self, engine: Engine, interval: float = 0.25) -> None:
        self.engine, self.interval = engine, interval
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="chom-progress")

    def note(self, operation_id, step_index: int, current_step: str) -> None:
        with self._lock:
            self._pending[operation_id] = (step_index, current_step[:200])

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        with self.engine.begin() as connection:
            for operation_id, (index, description) in pending.items():
                connection.execute(update(_operations)
                                   .where(_operations.c.id == operation_id)
                                   .values(step_index=index, current_step=description))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def __enter__(self) -> ProgressWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()
