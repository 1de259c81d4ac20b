"""The results files: a Markdown table for people and JSON for tools, in bench/results/."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.result import Result


def _met(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "**no**")


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return out


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def _profile(name: str, p: dict[str, Any]) -> list[str]:
    """The "where the time goes" part of a benchmark, from one in-process profile."""
    unit = p.get("unit", "unit")
    lines = [
        "",
        f"### Where the time goes (in-process profile `{name}`)",
        "",
        "The server's code driven in-process (no Granian, no sockets); "
        "`python -m bench.profiling " + name + " --workdir DIR` repeats it. The timed figures "
        "run without a profiler; cProfile shares are indicative only (it slows code made of "
        "many small Python calls, such as Litestar's, more than C code).",
        "",
    ]
    lines += [f"- {k}: {_num(v)}" for k, v in p.get("headline", {}).items()]
    if p.get("ladder"):
        rows, previous = [], None
        for layer, us in p["ladder"]:
            added = "" if previous is None or layer.startswith("(") else f"{us - previous:+.0f}"
            rows.append([layer, f"{us:.0f}", added])
            if not layer.startswith("("):
                previous = us
        lines += ["", "Layer by layer, 32 concurrent callers, median of 3 passes:", ""]
        lines += _table(["GET /v1/runs/{id} built up from", f"µs per {unit}", "added"], rows)
    if p.get("writer"):
        lines += ["", "The SQLite writer (one connection, one asyncio lock, one thread):", ""]
        lines += _table(["measure", "value"], [[k, _num(v)] for k, v in p["writer"].items()])
    if p.get("categories"):
        rows = [[c[0], f"{c[2]:.0f}%", f"{c[3]:.0f}"] for c in p["categories"][:9]]
        lines += ["", "cProfile self time of the event-loop thread, grouped:", ""]
        lines += _table(["where", "share", f"µs per {unit} (profiled)"], rows)
    if p.get("top"):
        rows = [[f"`{t[0]}`", f"{t[1]:.1f}", f"{t[2]:.1f}"] for t in p["top"][:8]]
        lines += ["", "Top functions by self time:", ""]
        lines += _table(["function", f"self µs/{unit}", f"cumulative µs/{unit}"], rows)
    return lines


def markdown(results: list[Result], header: dict[str, Any]) -> str:
    """The whole results page."""
    machine = header["machine"]
    lines = [
        f"# Benchmark results ({'quick' if header['quick'] else 'full'} run)",
        "",
        f"- date: {header['started']} (took {header['seconds'] / 60:.1f} min)",
        f"- machine: {machine['cpus']} CPUs, {machine['memory_gib']} GiB, Linux {machine['kernel']}; "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, Granian {machine['granian']}, "
        f"Litestar {machine['litestar']}; commit {machine['commit']}",
        f"- load generator: {header['tool']}",
        f"- load average (1/5/15 min) at start {header['load_start']}, at end {header['load_end']}",
        "",
        "Medians over rounds, `[min–max]` across rounds, n = rounds. Ceilings are measured in the "
        "same round as the product, back to back, so ratios hold up on a busy machine better "
        "than absolute figures do.",
        "",
        "## Summary",
        "",
    ]
    rows = [
        [t.name, t.measured, t.ceiling or "—", t.ratio or "—", t.target, _met(t.met)]
        for r in results
        for t in r.targets
    ]
    rows += [[r.title, f"error: {r.error}", "—", "—", "—", "—"] for r in results if r.error]
    lines += _table(["benchmark", "measured", "ceiling", "ratio", "target", "met"], rows)
    for r in results:
        lines += ["", f"## {r.title}", ""]
        lines.append(
            f"load average {r.load_before[0]} → {r.load_after[0] if r.load_after else '?'} "
            f"(1 min), {r.seconds:.0f} s"
        )
        if r.error:
            lines += ["", f"Failed: `{r.error}`"]
        if r.rows:
            lines += ["", *_table(r.headers, r.rows)]
        if r.notes:
            lines += ["", *[f"- {n}" for n in r.notes]]
        for name, profile in r.profiles.items():
            lines += _profile(name, profile)
    return "\n".join(lines) + "\n"


def write(results: list[Result], header: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """Write ``results[-quick][-subset].md`` and ``.json``; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = "results-quick" if header["quick"] else "results"
    if header.get("subset"):
        stem += "-" + "-".join(header["benchmarks"])
    md, js = directory / f"{stem}.md", directory / f"{stem}.json"
    md.write_text(markdown(results, header))
    payload = {**header, "results": [asdict(r) for r in results]}
    js.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return md, js
