# Trousse in a container: the same `trousse serve` (gunicorn, several workers),
# running as an unprivileged user, with the data directory in a volume.
#
#   docker build -t trousse .
#   docker run --stop-timeout 40 -p 8080:8080 -v trousse-data:/data \
#     -e TROUSSE_SITE_BASE_URL=http://localhost:8080 trousse
#
# See compose.yaml for a deployment behind a reverse proxy with HTTPS.

FROM python:3.11-slim AS build
# The locked runtime dependencies, checked against their hashes, then Trousse
# itself without resolving anything again (see requirements/README.md).
COPY requirements/runtime.txt /src/requirements/runtime.txt
RUN python -m venv /opt/trousse \
 && /opt/trousse/bin/pip install --no-cache-dir --require-hashes -r /src/requirements/runtime.txt
COPY . /src
RUN /opt/trousse/bin/pip install --no-cache-dir --no-deps /src \
 && /opt/trousse/bin/pip check

FROM python:3.11-slim
# git for the page store; Pango, HarfBuzz and a font for WeasyPrint (the PDF exports).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/trousse trousse \
 && mkdir /data \
 && chown trousse:trousse /data
COPY --from=build /opt/trousse /opt/trousse
ENV PATH=/opt/trousse/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TROUSSE_DATA=/data \
    TROUSSE_SERVER_HOST=0.0.0.0 \
    TROUSSE_SERVER_PORT=8080
USER trousse
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /healthz answers 200 once pages can be read and the index is usable.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('TROUSSE_SERVER_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
# SIGTERM lets the workers finish the saves and pushes in flight (up to 30 s:
# give `docker stop` / `docker run` a --stop-timeout of 40, as compose.yaml does).
STOPSIGNAL SIGTERM
CMD ["trousse", "serve"]
