# The README's commands. `make test` is what CI runs (.ci/run).
GO ?= go

.PHONY: run test vet bench build

run:
	$(GO) run ./cmd/huduma

# Vet, then every test (integration tests use the local Postgres and Redis;
# they skip loudly when those are absent, and fail when CI is set), then
# each benchmark once so they keep compiling and working.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/huduma ./cmd/huduma
