# The README's two commands are `go run ./cmd/gamemesh up` and `make test`.
# `make test` is what CI runs (.ci/run): formatting and vet, provisioning (Redis
# from apt, daprd built from the Go module proxy and cached), unit tests with
# the race detector, a few seconds of fuzzing per decoder (see fuzz), the
# integration tests against a real Redis and real daprd sidecars, and the
# end-to-end test of docker-compose.yml (stand-in images built here, the stack
# up, driven, part of it killed, brought down; it takes the integration lock
# itself). Under CI=true a missing tool fails the tests that need it instead of
# skipping them. `go test ./...` alone needs nothing installed.

GO ?= go
# Tests that start daprd hold this lock while they run: sidecars find each other by mDNS on the whole host, so two
# runs at once would talk to each other. The e2e test takes it by itself; do not run make under flock(1) as well.
LOCK := $(shell command -v flock >/dev/null 2>&1 && echo flock /tmp/gamemesh-integration.lock)

.PHONY: test vet unit fuzz provision integration e2e

test: vet provision unit fuzz integration e2e

vet:
	@dirs="$$($(GO) list -f '{{.Dir}}' ./...)"; [ -n "$$dirs" ] || { echo "no Go packages found"; exit 1; }; \
	unformatted="$$(gofmt -l $$dirs)"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./integration/...
	$(GO) vet -tags e2e ./integration/e2e/

unit:
	$(GO) test -race -count=1 -timeout 15m ./...

# Every decoder a client reaches has a fuzz target; CI runs each for
# FUZZTIME (a few seconds), by hand run longer: make fuzz FUZZTIME=10m.
# Crashers found are kept under each package's testdata/fuzz/ and run by
# the unit tests from then on.
FUZZTIME ?= 5s
FUZZ_TARGETS = wire:FuzzDecode wire:FuzzReadRaw ticket:FuzzVerify \
	gate:FuzzResumeToken gate:FuzzSessionFrames gate:FuzzWebSocketPath gate:FuzzWSConnFrames

fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t#*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg/ || exit 1; done

provision:
	./deploy/provision.sh

integration: provision
	$(LOCK) $(GO) test -race -count=1 -timeout 15m -tags integration ./integration/...

e2e: provision
	$(GO) test -count=1 -timeout 20m -v -tags e2e -run TestComposeStack ./integration/e2e/
