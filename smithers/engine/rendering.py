"""A run's renders and frames: the tree for the current state, reused while nothing it read
changed, and a frame written when the rendered tree differs from the last one stored."""

from __future__ import annotations

from typing import Any

from smithers.authoring.context import READ_ALL, Context
from smithers.authoring.workflow import Workflow
from smithers.engine import events as ev
from smithers.engine.frames import draft_frame
from smithers.engine.run_model import RunModel
from smithers.engine.tree import Rendered, render
from smithers.engine.writes import Change

__all__ = ["RenderCache"]


class RenderCache:
    """Renders one run's workflow and records its frames."""

    def __init__(self, workflow: Workflow, model: RunModel, input_value: Any) -> None:
        self.workflow = workflow
        self.model = model
        self.run_id = model.run_id
        self.input = input_value
        self._fingerprint: int | None = None
        self._rendered: Rendered | None = None
        self._reads: set[str] = set()
        self._loops: dict[str, tuple[int, bool]] = {}

    def render(self) -> Rendered:
        """The tree for the current state.

        Build functions are pure, so a render is reused until an output it read, or a loop's
        iteration, changes; the build function is called again only then.
        """
        outputs = self.model.outputs
        loops = self.model.loops
        cached = self._rendered
        if cached is not None and self._loops == loops:
            changed = outputs.changed
            if not changed or (READ_ALL not in self._reads and changed.isdisjoint(self._reads)):
                changed.clear()
                return cached
        reads: set[str] = set()
        iteration = next(iter(loops.values()))[0] if len(loops) == 1 else 0
        ctx = Context(self.run_id, self.input, outputs, iteration=iteration, reads=reads)
        outputs.changed.clear()
        self._rendered = None
        rendered = render(self.workflow, ctx, loops)
        for leaf in rendered.leaves:
            if leaf.loop_id is not None:
                outputs.node_loops[leaf.id] = leaf.loop_id
        self._rendered = rendered
        self._reads = reads
        self._loops = dict(loops)
        return rendered

    def add_frame(self, change: Change, rendered: Rendered) -> None:
        """Write a frame of ``rendered`` with ``change`` unless the last frame shows the same."""
        if rendered.fingerprint == self._fingerprint:
            return
        draft = draft_frame(rendered)
        if draft.xml_hash == self.model.frame_hash:
            self._fingerprint = rendered.fingerprint
            return
        frame_no = self.model.frame_no + 1
        change.batch.write(draft.row(self.run_id, frame_no, change.now))
        change.emit(
            ev.FrameCommitted(
                run_id=self.run_id,
                timestamp_ms=change.now,
                frame_no=frame_no,
                xml_hash=draft.xml_hash,
            )
        )

        def update() -> None:
            self.model.frame_no = frame_no
            self.model.frame_hash = draft.xml_hash
            self._fingerprint = rendered.fingerprint

        change.after.append(update)
