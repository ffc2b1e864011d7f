"""SQLite write-ahead-log checkpoints, kept off the commit path.

By default SQLite checkpoints inside the commit that makes the log pass 1,000 pages,
so one debit batch in every dozen or so pays for copying the log into the database
file and syncing it. creditline raises that threshold (a safety net) and runs
passive checkpoints from a background thread instead: a passive checkpoint never
takes the write lock, so writers never wait for it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading

from sqlalchemy import Engine

__all__ = ["AUTOCHECKPOINT_PAGES", "WalCheckpointer"]

AUTOCHECKPOINT_PAGES = 20_000
"""Pages (4 KiB each) after which a commit checkpoints by itself: only if the
background checkpointer is not running or cannot keep up."""


class WalCheckpointer:
    """A daemon thread that runs ``PRAGMA wal_checkpoint(PASSIVE)`` every ``interval`` s."""

    def __init__(self, engine: Engine, interval: float = 0.5) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="creditline-wal-checkpoint", daemon=True
        )

    def start(self) -> WalCheckpointer:
        self._thread.start()
        return self

    def checkpoint(self, mode: str = "PASSIVE") -> None:
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(f"PRAGMA wal_checkpoint({mode})")
            cursor.fetchall()
            cursor.close()
        finally:
            connection.close()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            # A busy or locked database just means: try again at the next tick.
            with contextlib.suppress(sqlite3.Error):
                self.checkpoint()

    def stop(self) -> None:
        """Stop the thread and fold the whole log into the database file."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        with contextlib.suppress(sqlite3.Error):
            self.checkpoint("TRUNCATE")
