# The commands the README and the docs/ pages give. `make test` is what CI runs (.ci/run).
GO ?= go

.PHONY: run test vet bench build menus config fuzz dashboard simulator

run:
	$(GO) run ./cmd/huduma

# Vet, then every test (integration tests use the local Postgres and Redis;
# they skip loudly when those are absent, and fail when CI is set), then
# the packages whose code runs concurrently again under the race detector,
# then each benchmark once so they keep compiling and working. go test
# shows nothing of a passing package, so figures the tests measured (the
# Sentinel failover's, say) are collected in a file and printed after.
TEST_FIGURES ?= $(CURDIR)/.test-figures
RACE_PACKAGES = ./sessions/... ./ussd/... ./outbox/... ./otp/... ./notices/... ./smschannel/... ./payments/... ./store/...
test:
	$(GO) vet ./...
	@rm -f $(TEST_FIGURES)
	TEST_FIGURES=$(TEST_FIGURES) $(GO) test -count=1 -timeout 20m ./...
	@if [ -s $(TEST_FIGURES) ]; then echo "test figures:"; sed 's/^/  /' $(TEST_FIGURES); fi
	$(GO) test -race -count=1 -timeout 30m $(RACE_PACKAGES)
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...

# The Go benchmarks, then the load run (bench/load): Huduma against the
# limit and the peer on this machine's Postgres and Redis. BENCH_FLAGS
# passes options, e.g. BENCH_FLAGS='-duration 5s -c 32'.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) build -o bin/huduma-bench ./cmd/huduma
	$(GO) build -o bin/limit-bench ./bench/limit
	cd bench/peer && npm ci --no-audit --no-fund --silent
	$(GO) run ./bench/load $(BENCH_FLAGS)

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/huduma ./cmd/huduma

# Fuzz every decoder and the renderer for FUZZTIME each (CI: 5s). Seed
# corpora live in each package's testdata/fuzz; new finds stay in the Go
# cache until you copy one in with its fix.
FUZZTIME ?= 5s
FUZZ_TARGETS = ./gsm7:FuzzFold ./gsm7:FuzzKeepWords ./smschannel:FuzzInboxText ./menus:FuzzLayout ./web:FuzzAPIBodies ./web:FuzzParseForm \
	./providers/africastalking:FuzzDecodeHop ./providers/africastalking:FuzzDecodeEvent \
	./providers/africastalking:FuzzDecodeDeliveryReport ./providers/africastalking:FuzzDecodeIncomingSMS \
	./providers/hubtel:FuzzDecodeHop ./providers/cgi:FuzzDecodeHop \
	./providers/kannel:FuzzDecodeReport ./providers/kannel:FuzzDecodeIncoming \
	./providers/daraja:FuzzDecodeSTKCallback ./providers/daraja:FuzzDecodeC2B \
	./providers/daraja:FuzzDecodeReversalResult ./providers/daraja:FuzzDecodePullReply \
	./providers/ecitizen:FuzzDecodeNotification \
	./payments:FuzzParseStatement ./store/trigram:FuzzSearchMatchesReference ./ussd:FuzzDecodeRecord
# .ci/fuzz fails on any finding; a bare "context deadline exceeded" with
# nothing found (a Go 1.26 coordinator race) is tried again.
fuzz:
	@GO=$(GO) bash .ci/fuzz $(FUZZTIME) $(FUZZ_TARGETS)

# Regenerate the menu diagram (between the menus:begin/end markers of
# docs/menus.md) after changing menus/states.go.
menus:
	$(GO) run ./cmd/huduma menus > .menus.tmp
	awk '/<!-- menus:begin -->/ { print; print "```mermaid"; while ((getline l < ".menus.tmp") > 0) print l; print "```"; skip = 1; next } /<!-- menus:end -->/ { skip = 0 } !skip' docs/menus.md > .doc.tmp && mv .doc.tmp docs/menus.md && rm -f .menus.tmp

# Regenerate docs/configuration.md's table from the variables table in
# cmd/huduma/config.go (and each SMS provider's); TestConfigTableIsCurrent
# fails when it is stale.
config:
	$(GO) run ./cmd/huduma config --table > .config.tmp
	awk '/<!-- config:begin/ { print; while ((getline l < ".config.tmp") > 0) print l; skip = 1; next } /<!-- config:end -->/ { skip = 0 } !skip' docs/configuration.md > .doc.tmp && mv .doc.tmp docs/configuration.md && rm -f .config.tmp

# Redraw docs/dashboard.png (the screenshot in docs/operations.md): cmd/huduma's
# TestDashboardAgainstPrometheus runs a real Prometheus against a gateway
# through a journey-and-payment run, then draws ops/grafana/huduma.json
# from that data and screenshots it with headless Chromium. Needs
# Debian's prometheus and chromium. `go run ./ops/preview -prometheus URL`
# does the same against any Prometheus.
dashboard:
	HUDUMA_DASHBOARD_PNG=docs/dashboard.png $(GO) test -count=1 -run '^TestDashboardAgainstPrometheus$$' -v ./cmd/huduma

# Redraw docs/simulator.png (the screenshot of the web phone in docs/simulator.md):
# cmd/huduma's TestBrowserSimulator drives the web phone in headless
# Chromium through every practice it offers and screenshots the page with
# a prompt on the phone. Needs Debian's chromium.
simulator:
	HUDUMA_SIMULATOR_PNG=$(CURDIR)/docs/simulator.png $(GO) test -count=1 -run '^TestBrowserSimulator$$' -v ./cmd/huduma
