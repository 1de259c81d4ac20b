"""The tracing package's one door: every name call sites use, typed helpers, and helpers that
cost nothing while tracing is off (nothing of OpenTelemetry imported, one shared no-op)."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

from smithers import tracing

ROOT = Path(__file__).resolve().parents[2]


def test_every_name_a_call_site_uses_is_there() -> None:
    used: set[str] = set()
    for path in (ROOT / "smithers").rglob("*.py"):
        if "tracing" not in path.relative_to(ROOT).parts[1:2]:
            used |= set(re.findall(r"\btracing\.([A-Za-z_]\w*)", path.read_text()))
    used.discard("setup")  # a submodule, imported as ``smithers.tracing.setup``
    assert {"task_span", "begin_run", "SpanLike", "NODE_STATE"} <= used
    assert used <= set(tracing.__all__), used - set(tracing.__all__)
    assert all(hasattr(tracing, name) for name in tracing.__all__)


def _signatures() -> dict[str, str]:
    shown: dict[str, str] = {}
    for name in tracing.__all__:
        value = getattr(tracing, name)
        if inspect.isfunction(value):
            shown[name] = str(inspect.signature(value))
        elif inspect.isclass(value):
            for attr, member in vars(value).items():
                if inspect.isfunction(member) and (attr == "__init__" or not attr.startswith("_")):
                    shown[f"{name}.{attr}"] = str(inspect.signature(member))
    return shown


def test_the_helpers_are_typed_without_any() -> None:
    signatures = _signatures()
    assert (
        signatures["task_span"]
        == "(node_id: 'str', iteration: 'int', attempt: 'int') -> 'SpanScope'"
    )
    assert (
        signatures["SpanLike.set_attribute"]
        == "(self, key: 'str', value: 'AttributeValue') -> 'None'"
    )
    untyped = {name: text for name, text in signatures.items() if re.search(r"\bAny\b", text)}
    assert not untyped, untyped


OFF_PROBE = """
import sys
from smithers import tracing
scopes = [tracing.body_span(), tracing.workflow_span("wf.py"), tracing.task_span("a", 0, 1),
          tracing.model_span("openai", "m"), tracing.tool_span("bash"), tracing.running(None)]
assert len({id(s) for s in scopes}) == 1, scopes
with scopes[0] as span:
    span.set_attribute(tracing.NODE_STATE, "finished")
    tracing.record_error(span, RuntimeError("boom"))
assert tracing.start_request("GET", [(b"traceparent", b"x")]) is None
assert tracing.begin_run("r", "wf", None) is None and tracing.new_trace_context() is None
tracing.end_run(None, "failed", {"name": "E", "message": "m"})
assert not tracing.active()
print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
"""


def test_off_every_helper_is_one_shared_no_op_and_nothing_is_imported() -> None:
    done = subprocess.run(
        [sys.executable, "-c", OFF_PROBE], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"
