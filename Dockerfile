# Multi-stage build: a static binary on a distroless, non-root base.
FROM golang:1.26 AS build
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
ENTRYPOINT ["/huduma"]
CMD ["serve"]
