# Concierge in a container: `concierge run` as an unprivileged user, the data dir on a volume.
# Build: docker build -t concierge .    Run: see compose.yaml and docs/DEPLOY.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# tzdata from the distribution: zoneinfo needs the IANA database for the hotel's and the guests' zones,
# and not every slim release ships it. Nothing else is needed: every dependency installs as a wheel.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*

# An unprivileged user owns only the data dir; the code and the configuration are read-only to it.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin concierge \
    && mkdir -p /data \
    && chown concierge:concierge /data

# Only what the package needs (pyproject.toml declares README.md as its readme); installed from PyPI by pip.
COPY pyproject.toml README.md /src/
COPY bot /src/bot
COPY handlers /src/handlers
COPY nlp /src/nlp
COPY crm /src/crm
COPY scheduler /src/scheduler
RUN pip install /src && rm -rf /src

# The demo hotel; mount your own over it (compose.yaml does) or point CONCIERGE_CONFIG elsewhere.
COPY config.yaml /etc/concierge/config.yaml

ENV CONCIERGE_CONFIG=/etc/concierge/config.yaml \
    CONCIERGE_DATA_DIR=/data \
    CONCIERGE_HTTP_HOST=0.0.0.0 \
    CONCIERGE_HTTP_PORT=8080

# SQLite database and its backups, the jieba cache, the hotel's own lexicons (<data_dir>/lexicons/).
VOLUME ["/data"]
WORKDIR /data
USER concierge
EXPOSE 8080

# /healthz answers once the HTTP server is up (after migrations and the NLP start-up).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CONCIERGE_HTTP_PORT', '8080'), timeout=4)" || exit 1

# `docker stop` sends SIGTERM, on which `concierge run` stops in order (as on Ctrl-C).
CMD ["concierge", "run"]
