"""Black-box contract suite for the HTTP API (talks to a server only over HTTP)."""
