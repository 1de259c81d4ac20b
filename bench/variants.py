"""What-if servers: ``smithers server`` with one bench-only patch applied in its worker.

They test a profile's explanation of a missed target by removing that one cost and measuring
again, back to back with the unpatched server. Product code is not changed; the patch lives
in this process only.

    python -m bench.variants VARIANT --db PATH --root DIR
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.ready import announce_when_ready, free_port

VARIANT_ENV = "BENCH_VARIANT"


def _inline_reads() -> None:
    """SQLite reads run on the event-loop thread instead of a reader thread."""
    import smithers.store.db as dbm

    connections: dict[str, sqlite3.Connection] = {}

    async def fetch_many(self: Any, queries: Any) -> list[list[dict[str, Any]]]:
        raw = connections.get(self.path)
        if raw is None:
            raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            raw.execute("PRAGMA busy_timeout=5000")
            connections[self.path] = raw
        result: list[list[dict[str, Any]]] = dbm._run_reads(raw, queries)
        return result

    dbm.SqliteDatabase.fetch_many = fetch_many  # type: ignore[method-assign]


VARIANTS: dict[str, tuple[str, Callable[[], None]]] = {
    "inline-reads": ("SQLite reads inline on the event-loop thread", _inline_reads),
}


def app_from_env() -> Any:
    """The Granian factory: apply the variant's patch, then build the normal app."""
    VARIANTS[os.environ[VARIANT_ENV]][1]()
    from smithers.server.app import create_app
    from smithers.server.settings import ServerSettings

    return create_app(ServerSettings.from_env())


def main() -> None:
    """Serve like ``smithers server`` (one worker) until SIGTERM."""
    from granian import Granian
    from granian.constants import Interfaces

    from smithers.server.settings import ServerSettings

    parser = argparse.ArgumentParser(prog="python -m bench.variants")
    parser.add_argument("variant", choices=sorted(VARIANTS))
    parser.add_argument("--db", required=True)
    parser.add_argument("--root", required=True)
    args = parser.parse_args()
    port = free_port()
    settings = ServerSettings(port=port, db=str(Path(args.db).resolve()), root_dir=Path(args.root))
    os.environ.update(settings.to_env())
    os.environ[VARIANT_ENV] = args.variant
    server = Granian(
        "bench.variants:app_from_env",
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        factory=True,
        log_access=False,
    )
    announce_when_ready(port, f"variant {args.variant}")
    server.serve()


if __name__ == "__main__":
    sys.exit(main())
