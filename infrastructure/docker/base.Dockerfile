# The base every product image builds on: Python 3.11, the SHARED layer (`dataplatform`: core,
# platform services and the CLI) and the project's pins. Build it from the repository root:
#   docker build -f infrastructure/docker/base.Dockerfile -t dataplatform-base .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY constraints.txt /app/constraints.txt
COPY shared /app/shared
# With the optional parts a deployment chooses by setting (bus, PostgreSQL store); Spark, which
# also needs Java, is left out.
RUN pip install --constraint /app/constraints.txt "/app/shared[kafka,redis,postgres]" \
    && useradd --system --uid 10001 --home-dir /app dataplatform \
    && mkdir -p /data && chown dataplatform /data

# The lake and the SQLite store live on a volume unless the environment points elsewhere
# (DATAPLATFORM_LAKE_ROOT=s3://..., DATAPLATFORM_DATABASE_URL=postgresql://...).
ENV DATAPLATFORM_LAKE_ROOT=/data/lake \
    DATAPLATFORM_DATABASE_URL=sqlite:////data/metadata.db
VOLUME /data
