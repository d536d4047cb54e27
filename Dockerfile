# Multi-stage build: a static binary on a distroless, non-root base.
#
# Base images are pinned to exact versions. Add each one's digest
# (image:tag@sha256:...) where the registry can be reached: this file was
# written where it could not. distroless publishes no version tags, so
# its digest is its only pin; until then it is Debian 12's nonroot image.
# TestDockerfile (cmd/huduma) checks these properties.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/huduma ./cmd/huduma \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/huduma /huduma
COPY --from=build --chown=65532:65532 /out/data /data
ENV HUDUMA_DATA_DIR=/data HUDUMA_ADDR=:8080
USER 65532:65532
EXPOSE 8080
# `huduma health` asks /readyz on HUDUMA_ADDR: the database and the
# session store answer (there is no curl in a distroless image).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["/huduma", "health"]
ENTRYPOINT ["/huduma"]
CMD ["serve"]
