"""Contract workflow whose own database is a directory, so opening it fails (500)."""

from smithers import Task, workflow


@workflow("contract-unopenable-db", db=".")
def unopenable_db(ctx):
    return Task("never", lambda: {"ran": True})
