"""How long each benchmark runs: the full suite (~10-15 min) or ``--quick`` (~2-3 min)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Budget:
    """Rounds and durations shared by the benchmarks, plus where they may write files."""

    quick: bool
    workdir: Path
    tool: str = "auto"
    """Load generator: ``auto`` (wrk, installed if missing, else Python), ``wrk``, ``python``."""
    rounds: int = 5
    """Rounds of every ceiling-vs-product comparison (medians and spread are over rounds)."""
    http_seconds: int = 8
    """Measured seconds per side per round of the GET benchmark."""
    warmup_seconds: int = 2
    throughput_seconds: int = 6
    """Seconds of POST /v1/runs load per round."""
    step_processes: int = 5
    """Fresh processes of the step-latency benchmark (each does ``step_runs`` runs)."""
    step_runs: int = 3
    scaling_processes: int = 3
    """Fresh processes per database of the scaling and peer benchmarks."""
    sse_rounds: int = 3
    sse_subscribers: int = 500
    sse_ticks: int = 40
    scale_runs: int = 100_000
    scale_events: int = 1_000_000
    scale_seconds: int = 4
    profile: bool = False
    """Also profile in-process where a target is missed (adds ~1 min)."""

    @classmethod
    def create(cls, quick: bool, workdir: Path, **overrides: object) -> Budget:
        """The full or quick budget, with ``overrides`` (e.g. ``rounds``) applied."""
        values: dict[str, object] = {}
        if quick:
            values = {
                "rounds": 3,
                "http_seconds": 3,
                "warmup_seconds": 1,
                "throughput_seconds": 3,
                "step_processes": 3,
                "step_runs": 2,
                "scaling_processes": 1,
                "sse_rounds": 2,
                "sse_ticks": 20,
                "scale_seconds": 2,
            }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(quick=quick, workdir=workdir, **values)  # type: ignore[arg-type]
