# syntax=docker/dockerfile:1
# The base every image builds on: Python 3.11, the SHARED layer (`dataplatform`: core, platform
# services, the CLI) with the project's pins, and the console's front-end libraries. By itself it
# runs the gateway. Build it from the repository root:
#   docker build -f infrastructure/docker/base.Dockerfile -t dataplatform-base .
# Bases by tag here; a release pins each by the digest its registry resolves, for example
#   FROM python:3.11-slim-bookworm@sha256:<digest>   (docker buildx imagetools inspect <image>)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# The console's htmx and ECharts and the API docs' Swagger UI, from npm at the lockfile's versions.
FROM ${NODE_IMAGE} AS console
WORKDIR /frontend
COPY shared/src/dataplatform/platform/console/frontend/package.json shared/src/dataplatform/platform/console/frontend/package-lock.json ./
RUN SCARF_ANALYTICS=false npm ci --no-audit --no-fund --loglevel=error \
    && mkdir /vendor \
    && cp node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js \
       node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
       node_modules/swagger-ui-dist/favicon-32x32.png /vendor/

# The SHARED layer in a virtual environment, with the optional parts a deployment chooses by
# setting (bus, PostgreSQL store); Spark, which also needs Java, is left out.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY constraints.txt /app/constraints.txt
COPY shared /app/shared
COPY --from=console /vendor /app/shared/src/dataplatform/platform/console/static/vendor
RUN /opt/venv/bin/pip install --constraint /app/constraints.txt --editable "/app/shared[kafka,redis,postgres]"

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --uid 10001 --home-dir /app dataplatform \
    && mkdir -p /data && chown dataplatform /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# The lake and the SQLite store live on a volume unless the environment points elsewhere
# (DATAPLATFORM_LAKE_ROOT=s3://..., DATAPLATFORM_DATABASE_URL=postgresql://...).
ENV DATAPLATFORM_LAKE_ROOT=/data/lake \
    DATAPLATFORM_DATABASE_URL=sqlite:////data/metadata.db
VOLUME /data
USER dataplatform
EXPOSE 8000
HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"]
CMD ["dataplatform", "serve", "--host", "0.0.0.0", "--port", "8000"]
