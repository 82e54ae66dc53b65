# The README's two commands are `go run ./cmd/gamemesh up` and `make test`.
# `make test` is what CI runs (.ci/run): formatting and vet, unit tests with the
# race detector (embedded mode, no external tool), then provisioning (Redis from
# apt, daprd built from the Go module proxy and cached) and the integration
# tests against a real Redis and real daprd sidecars. Under CI=true a missing
# tool fails the integration tests instead of skipping them.

GO ?= go
GOFILES = $(shell git ls-files '*.go' | grep -v '\.pb\.go$$')

.PHONY: test vet unit provision integration

test: vet unit integration

vet:
	@unformatted="$$(gofmt -l $(GOFILES))"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./integration/...

unit:
	$(GO) test -race -count=1 -timeout 15m ./...

provision:
	./deploy/provision.sh

integration: provision
	$(GO) test -race -count=1 -timeout 15m -tags integration ./integration/...
