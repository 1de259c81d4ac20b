"""The server process: its command line, settings, Granian runner and worker entry point."""
