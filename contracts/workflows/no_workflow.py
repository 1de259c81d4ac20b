"""Contract workflow file that imports fine but defines no workflow (WORKFLOW_LOAD_FAILED)."""

ANSWER = 42
