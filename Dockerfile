# kestra-sync as a container image, for GitLab CI and any other CI system (the GitHub Action
# itself is a composite action and does not use this image).
#
#   docker build --build-arg VERSION=0.1.0 -t kestra-sync:0.1.0 .
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/work" \
#     -e KESTRA_URL -e KESTRA_API_TOKEN kestra-sync:0.1.0 plan --out plan.json
#
# `--user "$(id -u):$(id -g)"` runs as the owner of the bind-mounted checkout, so `plan --out`
# and `pull` can write there; without it the image's own user (uid 10001) may not be allowed to.
#
# Layers, from the least to the most often changed: the base image, git, the dependencies at
# the exact versions and hashes of requirements.lock (rebuilt only when the lock changes), and
# last the kestra_sync source (a source change rebuilds only that small layer).
#
# The base is pinned by version. To pin it by digest too (reproducible builds), resolve it once
# and set it as PYTHON_IMAGE:
#   docker buildx imagetools inspect python:3.12-slim-bookworm   # prints "Digest: sha256:..."
#   --build-arg PYTHON_IMAGE=python:3.12-slim-bookworm@sha256:<digest>
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# The dependencies only: a virtualenv built from the lock, wheels only (nothing compiles), each
# file checked against its hash. A launcher `kestra-sync` and a .pth file point it at the source
# copied in the final stage, so kestra-sync itself needs no build step.
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/kestra-sync \
    && /opt/kestra-sync/bin/pip install --no-cache-dir --require-hashes --only-binary :all: \
        -r /tmp/requirements.lock \
    && /opt/kestra-sync/bin/pip uninstall --yes pip \
    && /opt/kestra-sync/bin/python -c "import pathlib, sysconfig; \
pathlib.Path(sysconfig.get_path('purelib'), 'kestra-sync.pth').write_text('/opt/kestra-sync/app')" \
    && printf '%s\n' '#!/opt/kestra-sync/bin/python' 'import sys' \
        'from kestra_sync.cli import main' 'sys.exit(main())' > /opt/kestra-sync/bin/kestra-sync \
    && chmod 0755 /opt/kestra-sync/bin/kestra-sync

FROM ${PYTHON_IMAGE}
# git: saved plans record the commit they were made from (kestra_sync/source/gitinfo.py runs git).
# Pinned to bookworm's version (hadolint DL3008); when Debian replaces it (a security release)
# the build fails on it: look up the new one with
#   docker run --rm python:3.12-slim-bookworm sh -c 'apt-get update -qq; apt-cache policy git'
# Mounted checkouts usually belong to another user than the container's, so git must not
# refuse them. `--build-arg WITH_GIT=false` makes a smaller image whose plans carry no commit.
ARG WITH_GIT=true
ARG GIT_VERSION=1:2.39.5-0+deb12u3
RUN if [ "$WITH_GIT" = "true" ]; then \
        apt-get update \
        && apt-get install --yes --no-install-recommends "git=${GIT_VERSION}" \
        && rm -rf /var/lib/apt/lists/* \
        && git config --system --add safe.directory '*'; \
    fi \
    && python -m pip uninstall --yes pip \
    && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin kestra
COPY --from=deps /opt/kestra-sync /opt/kestra-sync
COPY kestra_sync /opt/kestra-sync/app/kestra_sync
# VERSION follows kestra_sync.__version__ (a test checks); SOURCE_URL is a placeholder until the
# repository is published: pass --build-arg SOURCE_URL=https://github.com/<owner>/kestra-sync.
ARG VERSION=0.1.0
ARG SOURCE_URL=https://github.com/kestra-sync/kestra-sync
LABEL org.opencontainers.image.title="kestra-sync" \
      org.opencontainers.image.description="GitOps for Kestra flows: validate, plan and apply" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE_URL}"
ENV PATH=/opt/kestra-sync/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["kestra-sync"]
CMD ["--help"]
