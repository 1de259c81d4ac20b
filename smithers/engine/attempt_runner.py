"""The attempts a run loop executes: each task's function in a child asyncio task.

An attempt's end (output or error) is not written here: it waits in ``finished`` until the
loop's next pass takes it into that pass's write (``drain``), so a step of a sequence costs
one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smithers import metrics, tracing
from smithers.authoring.context import TaskContext
from smithers.authoring.nodes import Task
from smithers.engine.agent_memory import AttemptMemory
from smithers.engine.attempts import call_task, validate_output
from smithers.engine.run_model import Key, RunModel
from smithers.engine.run_options import RunConfig
from smithers.engine.side_channel import RunningAttempt, SideChannel
from smithers.engine.tool_log import AttemptToolLog
from smithers.engine.writes import Change
from smithers.errors import WorkflowLoadError
from smithers.statuses import NodeState
from smithers.store.store import Store
from smithers.tools.toolbox import Toolbox

__all__ = ["AttemptRunner"]

log = logging.getLogger(__name__)


class AttemptRunner:
    """Launches a run's attempts, collects their ends, and stops those still running."""

    def __init__(
        self,
        *,
        store: Store,
        model: RunModel,
        input_value: Any,
        config: RunConfig,
        side: SideChannel,
        running: dict[Key, RunningAttempt],
        on_end: Callable[[], None],
        workflow_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.run_id = model.run_id
        self.input = input_value
        self.config = config
        self.side = side
        self.running = running
        self.on_end = on_end
        self.workflow_dir = workflow_dir
        self.finished: list[RunningAttempt] = []
        self.crashed: BaseException | None = None
        """Set when writing an attempt's end failed: the loop cannot go on safely."""

    def launch(self, item: RunningAttempt) -> None:
        """Start the attempt's function in a child task."""
        self.running[item.leaf.key] = item
        item.task = asyncio.create_task(self._execute(item), name=f"{self.run_id}:{item.leaf.id}")

    async def _execute(self, item: RunningAttempt) -> None:
        """Run the task's function; its end is written by the loop's next pass."""
        node = item.leaf.node
        assert isinstance(node, Task)
        # Counted here, where every end passes (finish, failure, timeout, cancel, interrupt,
        # a lost run: the loop cancels this task on its way out, and so on a crash too).
        metrics.nodes_active.inc()
        began = time.perf_counter()
        leaf = item.leaf
        try:
            with tracing.task_span(leaf.id, leaf.iteration, item.attempt.attempt) as span:
                await self._attempt(node, item, span)
            self.finished.append(item)
        except asyncio.CancelledError:
            return  # stopped by the loop, which records how the attempt ended
        except Exception as exc:  # the store failed: the loop cannot go on safely
            log.exception("run %s: ending %s failed", self.run_id, item.leaf.id)
            self.crashed = exc
        finally:
            metrics.nodes_active.dec()
            metrics.node_duration_ms.observe((time.perf_counter() - began) * 1000)
            self.on_end()

    async def _attempt(self, node: Task, item: RunningAttempt, span: tracing.SpanLike) -> None:
        """Call the task's function and keep its output or error in ``item``."""
        try:
            ctx = self._task_context(item)
            try:
                output = validate_output(await call_task(node, ctx), node.output)
            except Exception as exc:
                item.error = exc
            else:
                if output.table is not None:
                    try:  # create the table now, outside the pass's write transaction
                        await self.store.ensure_output_table(output.table)
                    except WorkflowLoadError as exc:  # an existing table does not fit the Struct
                        item.error = exc
                item.output = output
        except asyncio.CancelledError:
            span.set_attribute(tracing.NODE_STATE, NodeState.CANCELLED.value)
            raise
        item.done = True
        if item.error is None:
            span.set_attribute(tracing.NODE_STATE, NodeState.FINISHED.value)
        else:
            span.set_attribute(tracing.NODE_STATE, NodeState.FAILED.value)
            tracing.record_error(span, item.error)

    def drain(self, change: Change) -> None:
        """Put the ends of finished attempts into this pass's write (model updated at once).

        The end of an attempt (output, attempt, node, event) commits in the same transaction
        as what the next pass writes — the next starts, or the run's end — so a step of a
        sequence costs one transaction; a render sees the outputs before anything is written.
        """
        if not self.finished:
            return
        ends = Change(self.model, change.now)
        for item in self.finished:
            self.running.pop(item.leaf.key, None)
            self.side.take_heartbeat(item, change.now)  # the last checkpoint lands with the end
            if item.error is None:
                assert item.output is not None
                ends.finish_attempt(item.info, item.attempt, item.output)
            else:
                ends.fail_attempt(item.leaf, item.info, item.attempt, item.error)
        self.finished.clear()
        ends.applied()
        change.batch.merge(ends.batch)
        change.carries_ends = True

    def _task_context(self, item: RunningAttempt) -> TaskContext:
        leaf, info, attempt = item.leaf, item.info, item.attempt
        task = leaf.node
        assert isinstance(task, Task)
        on_log, on_heartbeat = self.side.reporters(item)
        return TaskContext(
            run_id=self.run_id,
            node_id=leaf.id,
            iteration=leaf.iteration,
            attempt=attempt.attempt,
            input=self.input,
            outputs=self.model.outputs,
            loop_id=leaf.loop_id,
            last_heartbeat=info.last_heartbeat(),
            root_dir=self.config.root_dir,
            cancelled=asyncio.Event(),
            on_heartbeat=on_heartbeat,
            on_log=on_log,
            on_usage=self.side.usage_reporter(item),
            workflow_dir=self.workflow_dir,
            agent_memory=AttemptMemory(self.store, self.side, item, self.side.clock),
            tools=Toolbox(
                self.config.root_dir,
                allow_network=self.config.allow_network,
                sandbox=self.config.sandbox,
                recorder=AttemptToolLog(self.side, item),
                run_id=self.run_id,
                node_id=leaf.id,
                iteration=leaf.iteration,
                attempt=attempt.attempt,
                max_parallel_tools=task.max_parallel_tools,
            ),
        )

    async def stop(self) -> None:
        """Cancel attempts still in user code (those already done keep their results)."""
        items = list(self.running.values())
        for item in items:
            if item.task is not None and not item.done:
                item.task.cancel()
        tasks = [item.task for item in items if item.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.side.close()
