"""Frames: the canonical JSON of a rendered tree, its hash, and the frame row."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgspec

from smithers.engine.tree import Rendered
from smithers.store.rows import FrameRow

__all__ = ["FrameDraft", "draft_frame"]

_encoder = msgspec.json.Encoder()


@dataclass(slots=True)
class FrameDraft:
    """A frame ready to store if its hash differs from the previous frame's."""

    xml_json: str
    xml_hash: str
    mounted_task_ids_json: str
    task_index_json: str

    def row(self, run_id: str, frame_no: int, now: int) -> FrameRow:
        """The ``_smithers_frames`` row."""
        return FrameRow(
            run_id=run_id,
            frame_no=frame_no,
            created_at_ms=now,
            xml_json=self.xml_json,
            xml_hash=self.xml_hash,
            encoding="full",
            mounted_task_ids_json=self.mounted_task_ids_json,
            task_index_json=self.task_index_json,
        )


def draft_frame(rendered: Rendered) -> FrameDraft:
    """Canonical JSON (element tree, props sorted) and its sha256."""
    body = _encoder.encode(rendered.element())
    mounted = [f"{leaf.id}::{leaf.iteration}" for leaf in rendered.leaves]
    index = []
    for leaf in rendered.leaves:
        entry: dict[str, Any] = {
            "nodeId": leaf.id,
            "ordinal": leaf.ordinal,
            "iteration": leaf.iteration,
        }
        if leaf.loop_id is not None:
            entry["loopId"] = leaf.loop_id
        index.append(entry)
    return FrameDraft(
        xml_json=body.decode(),
        xml_hash=hashlib.sha256(body).hexdigest(),
        mounted_task_ids_json=_encoder.encode(mounted).decode(),
        task_index_json=_encoder.encode(index).decode(),
    )
