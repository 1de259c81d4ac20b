"""Contract workflow file that cannot be imported (for WORKFLOW_LOAD_FAILED)."""

raise RuntimeError("contract workflow broken on purpose")
