"""``up --serve``: the run's HTTP API from the ``up`` process itself (Granian, embedded)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from dataclasses import dataclass

from smithers.cli.common import CliError
from smithers.engine.scheduler import RunScheduler
from smithers.server.process.runner import free_port
from smithers.server.process.settings import ServerSettings
from smithers.server.serve import create_serve_app
from smithers.store.store import Store

__all__ = ["ServeConfig", "Serving", "serve_config", "start_serving"]

READY_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """Where and how ``up --serve`` serves its run."""

    host: str
    port: int
    auth_token: str | None
    metrics: bool


def serve_config(args: argparse.Namespace) -> ServeConfig | None:
    """The serve options of ``up``, or ``None`` without ``--serve``."""
    if not getattr(args, "serve", False):
        return None
    token = args.auth_token if args.auth_token is not None else os.environ.get("SMITHERS_API_KEY")
    return ServeConfig(args.host, args.port, token or None, not args.no_metrics)


@dataclass(eq=False)
class Serving:
    """A running embedded server."""

    url: str
    server: object
    task: asyncio.Task[None]

    async def stop(self) -> None:
        """Stop accepting and close connections."""
        self.server.stop()  # type: ignore[attr-defined]
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(self.task, READY_TIMEOUT_S)


async def start_serving(
    config: ServeConfig, scheduler: RunScheduler, store: Store, run_id: str
) -> Serving:
    """Serve ``run_id`` on ``config``'s address until ``Serving.stop``."""
    from granian.constants import Interfaces
    from granian.server.embed import Server

    port = config.port or free_port(config.host)
    settings = ServerSettings(
        host=config.host,
        port=port,
        auth_token=config.auth_token,
        metrics=config.metrics,
        sandbox=scheduler.sandbox,
    )
    app = create_serve_app(settings, scheduler, store, run_id)
    server = Server(
        app, address=config.host, port=port, interface=Interfaces.ASGI, log_enabled=False
    )
    task = asyncio.create_task(server.serve(), name="smithers-serve")
    host = f"[{config.host}]" if ":" in config.host else config.host
    serving = Serving(f"http://{host}:{port}", server, task)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    while True:
        if task.done():
            error = task.exception()
            raise CliError(f"cannot serve on {config.host}:{port}: {error}")
        try:
            _, writer = await asyncio.open_connection(config.host, port)
        except OSError:
            if loop.time() > deadline:
                await serving.stop()
                raise CliError(f"cannot serve on {config.host}:{port}: nothing answers") from None
            await asyncio.sleep(0.02)
            continue
        writer.close()
        return serving
