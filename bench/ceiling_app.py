"""The framework ceiling: bare Litestar under Granian answering GET /v1/runs/{id} from memory.

Same Granian settings as ``smithers server`` (ASGI, one worker, factory, no access log) and
the same response bytes and headers, so the difference to the product is Smithers' own work.

    python -m bench.ceiling_app --body FILE [--port N]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from litestar import Litestar, Response, get

from bench.ready import announce_when_ready, free_port

BODY_ENV = "BENCH_CEILING_BODY"
HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


def app_from_env() -> Litestar:
    """The app Granian loads: the body comes from the file named in ``BENCH_CEILING_BODY``."""
    body = Path(os.environ[BODY_ENV]).read_bytes()

    @get("/v1/runs/{runId:str}")
    async def run(runId: str) -> Response[bytes]:
        return Response(body, media_type="application/json", headers=HEADERS)

    @get("/health")
    async def health() -> Response[bytes]:
        return Response(b'{"ok":true}', media_type="application/json")

    return Litestar([run, health], openapi_config=None)


def main() -> None:
    """Serve until SIGTERM."""
    from granian import Granian
    from granian.constants import Interfaces

    parser = argparse.ArgumentParser(prog="python -m bench.ceiling_app")
    parser.add_argument("--body", required=True, help="file with the response body")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    port = args.port or free_port()
    os.environ[BODY_ENV] = str(Path(args.body).resolve())
    server = Granian(
        "bench.ceiling_app:app_from_env",
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        factory=True,
        log_access=False,
    )
    announce_when_ready(port, "ceiling")
    server.serve()


if __name__ == "__main__":
    main()
