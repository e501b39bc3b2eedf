# kestra-sync as a container image, for GitLab CI and any other CI system (the GitHub Action
# itself is a composite action and does not use this image).
#
#   docker build -t kestra-sync:0.1.0 .
#   docker run --rm -v "$PWD:/work" -e KESTRA_URL -e KESTRA_API_TOKEN kestra-sync:0.1.0 plan
#
# Two stages: the builder installs kestra-sync and its dependencies into a virtualenv; the final
# stage copies only that virtualenv, so no pip cache, wheel, setuptools or build tool is left.
# Every dependency ships as a pure-Python or manylinux wheel, so no compiler is needed at all.
#
# The base is pinned by version. To pin it by digest too (reproducible builds), resolve it once
# and add it to both FROM lines:
#   docker buildx imagetools inspect python:3.12-slim-bookworm   # prints "Digest: sha256:..."
#   FROM python:3.12-slim-bookworm@sha256:<digest>
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kestra_sync ./kestra_sync
RUN python -m venv /opt/kestra-sync \
    && /opt/kestra-sync/bin/pip install --no-cache-dir . \
    && /opt/kestra-sync/bin/pip uninstall --yes pip \
    && /opt/kestra-sync/bin/kestra-sync --version

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="kestra-sync" \
      org.opencontainers.image.description="GitOps for Kestra flows: validate, plan and apply" \
      org.opencontainers.image.licenses="Apache-2.0"
# git: saved plans record the commit they were made from (gitpython needs the git binary).
# Mounted checkouts usually belong to another user than the container's, so git must not refuse
# them. `--build-arg WITH_GIT=false` makes a smaller image whose plans carry no commit.
ARG WITH_GIT=true
RUN if [ "$WITH_GIT" = "true" ]; then \
        apt-get update \
        && apt-get install --yes --no-install-recommends git \
        && rm -rf /var/lib/apt/lists/* \
        && git config --system --add safe.directory '*'; \
    fi \
    && python -m pip uninstall --yes pip \
    && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin kestra
COPY --from=builder /opt/kestra-sync /opt/kestra-sync
ENV PATH=/opt/kestra-sync/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["kestra-sync"]
CMD ["--help"]
