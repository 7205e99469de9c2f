# syntax=docker/dockerfile:1
# One image for every Stafett component, chosen by argument:
#   docker build -t stafett:0.1.0 .
#   docker run --read-only --tmpfs /tmp stafett:0.1.0 gateway   # or consent, logs, handover, notifications
# docs/operations.md; tests/deploy/test_image.py lints this file with hadolint and builds and
# starts the same wheel (this machine has no Docker engine).

# Python 3.11 on Debian bookworm, slim, pinned by version and by the digest of its
# multi-architecture index (check: docker buildx imagetools inspect <image>).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# -- build: the project as a wheel, installed with its exact pins into a virtualenv --------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY stafett/ stafett/
COPY services/ services/
COPY gateway/ gateway/
# every dependency has a manylinux wheel (psycopg2-binary, cryptography, greenlet, PyYAML):
# no compiler in the image; bytecode is compiled here, as the runtime's root is read-only
RUN python -m venv /opt/stafett \
    && /opt/stafett/bin/pip install --no-cache-dir --only-binary=:all: --no-binary=stafett . \
    && /opt/stafett/bin/python -m compileall -q /opt/stafett/lib

# -- runtime: the virtualenv only, run by an unprivileged numeric user ---------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="stafett" \
      org.opencontainers.image.description="Stafett: gateway, consent, logs, handover and notifications in one image" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 stafett \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin stafett
COPY --from=build /opt/stafett /opt/stafett
ENV PATH=/opt/stafett/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp
# nothing here is writable by the user; in Kubernetes only /tmp is (an emptyDir)
WORKDIR /opt/stafett
USER 10001:10001
# the gateway's HTTP port, the services' probe ports and the metrics port (deploy/k8s)
EXPOSE 8000 8101 8102 8103 8104 9090
# -P: the working directory is never on sys.path
ENTRYPOINT ["/opt/stafett/bin/python", "-P", "-m", "stafett.run"]
