"""The Litestar route handlers of the HTTP API: runs, events, approvals."""
