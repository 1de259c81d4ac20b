# Smithers project recipes (`uv run just <recipe>`).

default:
    @just --list

# the test suite (the same command CI runs)
test *args:
    uv run pytest {{args}}

# the black-box contract suite against a fresh local server (or pass --base-url URL --token T)
contracts *args:
    uv run pytest contracts {{args}}

# formatting, lint and types
lint:
    uv run ruff format --check smithers tests contracts bench
    uv run ruff check smithers tests contracts bench
    uv run mypy

# the HTTP server on the embedded SQLite default
serve *args:
    uv run smithers server {{args}}

# benchmarks (not part of CI); results land in bench/results/
bench *args:
    uv run python -m bench {{args}}
