# MinIO built from source: the community edition ships source-only, and the last upstream image
# predates the privilege-escalation fix released in RELEASE.2025-10-15T17-29-55Z.
# Bump MINIO_VERSION deliberately (a release tag of github.com/minio/minio).
FROM golang:1.24.9-bookworm AS build
ARG MINIO_VERSION=RELEASE.2025-10-15T17-29-55Z
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
RUN go install -ldflags "-s -w" github.com/minio/minio@${MINIO_VERSION}

FROM debian:bookworm-20251117-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10002 minio \
    && useradd --system --uid 10002 --gid minio --home-dir /data minio \
    && mkdir -p /data && chown minio:minio /data
COPY --from=build /go/bin/minio /usr/local/bin/minio
USER minio
EXPOSE 9000
ENV MINIO_UPDATE=off MINIO_BROWSER=off
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:9000/minio/health/live"]
ENTRYPOINT ["minio"]
CMD ["server", "/data", "--address", ":9000", "--quiet"]
