"""``Prompt("prompts/fix.md", **vars)``: an agent task's prompt kept in a file beside the
workflow, formatted with ``str.format`` when the attempt runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from smithers.errors import InvalidWorkflow

__all__ = ["Prompt"]


@dataclass(frozen=True)
class Prompt:
    """A prompt file, relative to the workflow file's folder, and the values it names."""

    path: str
    values: dict[str, object] = field(default_factory=dict)

    def __init__(self, path: str, /, **values: object) -> None:
        object.__setattr__(self, "path", str(path))
        object.__setattr__(self, "values", values)

    def render(self, workflow_dir: Path) -> str:
        """The prompt's text: the file read and formatted (``INVALID_WORKFLOW`` if it cannot)."""
        file = (workflow_dir / self.path).resolve()
        try:
            template = file.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidWorkflow(f"prompt file {self.path!r} cannot be read: {exc}") from None
        try:
            return template.format(**self.values)
        except (KeyError, IndexError, ValueError) as exc:
            raise InvalidWorkflow(
                f"prompt file {self.path!r} cannot be formatted: {exc!r}"
            ) from None
