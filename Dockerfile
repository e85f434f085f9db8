# One image for the Dagster webserver, the Dagster daemon and the HTTP API
# (docker-compose.yml runs all three).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home \
    EXPORT_PATH=/data/exports \
    IMPORT_INBOX=/data/imports/inbox

WORKDIR /opt/bgw_pipeline
COPY pyproject.toml uv.lock setup.cfg README.md workspace.yaml ./
COPY bgw_pipeline ./bgw_pipeline
# The versions of uv.lock, with their hashes (as `make run` installs them), then the
# project itself without resolving anything again.
RUN pip install --no-cache-dir uv==0.13.10 \
    && uv export --frozen --no-dev --no-emit-project --output-file /tmp/requirements.txt \
    && pip install --no-cache-dir --no-deps --require-hashes -r /tmp/requirements.txt \
    && pip install --no-cache-dir --no-deps . \
    && rm /tmp/requirements.txt \
    && mkdir -p "$DAGSTER_HOME" /data/exports /data/imports/inbox \
    && useradd --system --home /opt/bgw_pipeline bgw \
    && chown -R bgw "$DAGSTER_HOME" /data
COPY deploy/dagster.yaml /opt/dagster/home/dagster.yaml

USER bgw
EXPOSE 3000 8000
# The compose file runs the daemon from the same image with `dagster-daemon run`.
CMD ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "workspace.yaml"]
