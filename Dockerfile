# Trousse in a container: the same server as `trousse serve`, data in a volume.
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /src
RUN pip install --no-cache-dir /src && rm -rf /src
ENV TROUSSE_DATA=/data \
    TROUSSE_SERVER_HOST=0.0.0.0
VOLUME ["/data"]
EXPOSE 8080
CMD ["trousse", "serve"]
