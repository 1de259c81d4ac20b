# syntax=docker/dockerfile:1
# The Smithers server image: docs/deploy.md ("Docker"). Build: docker build -t smithers .

# --- build: the locked dependencies and the project, into one virtual environment --------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install "uv>=0.9,<1"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY smithers ./smithers
# the versions of uv.lock, with the tracing extra; no test tools
RUN uv export --frozen --no-dev --extra otel --no-emit-project -o requirements.txt \
    && uv venv /opt/smithers \
    && uv pip install --python /opt/smithers/bin/python -r requirements.txt \
    && uv pip install --python /opt/smithers/bin/python --no-deps .

# --- run: the environment and an unprivileged user, nothing else ---------------------------
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --create-home --home-dir /srv/smithers smithers \
    && mkdir -p /srv/smithers/workflows /srv/smithers/data \
    && chown -R smithers:smithers /srv/smithers
COPY --from=build /opt/smithers /opt/smithers
ENV PATH=/opt/smithers/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SMITHERS_ROOT=/srv/smithers/workflows \
    SMITHERS_LOG_FORMAT=json
USER 10001:10001
WORKDIR /srv/smithers
EXPOSE 7331
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:7331/health', timeout=2).status != 200)"]
# SIGTERM stops it gracefully: runs are interrupted, not cancelled, and continue on the next start
STOPSIGNAL SIGTERM
CMD ["smithers", "server", "--host", "0.0.0.0", "--port", "7331", \
     "--db", "sqlite:////srv/smithers/data/smithers.db", "--root", "/srv/smithers/workflows"]
