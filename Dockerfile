# syntax=docker/dockerfile:1
# One image for every newsingest service; the command picks the service:
#   docker run IMAGE serve crawler|clean|dedupe|tag     docker run IMAGE topics create
# Stage 1 builds the wheel and its dependencies into a virtualenv (compilers only here);
# stage 2 copies that virtualenv onto a slim Python and runs as an unprivileged user.
# Checked without a Docker engine by tests/deploy/test_dockerfile.py.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Only for dependencies that ship no wheel for the platform; not in the final image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/newsingest
ENV PATH=/opt/newsingest/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY services ./services
COPY schemas ./schemas
RUN pip install --upgrade pip \
 && pip install . \
 && newsingest --help >/dev/null

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="newsingest" \
      org.opencontainers.image.description="Streaming ingest of Arabic and English news about Syria on Kafka" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 newsingest \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin newsingest
COPY --from=build /opt/newsingest /opt/newsingest
# /livez, /readyz and /metrics listen on every interface of the container, port 9100.
ENV PATH=/opt/newsingest/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    NEWSINGEST_STAGE__HTTP_HOST=0.0.0.0 \
    NEWSINGEST_STAGE__HTTP_PORT=9100
WORKDIR /tmp
USER 10001:10001
EXPOSE 9100
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9100/livez', timeout=3)"]
ENTRYPOINT ["newsingest"]
CMD ["--help"]
