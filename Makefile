# The README's two commands are `go run ./cmd/gamemesh up` and `make test`.
# `make test` is what CI runs (.ci/run): unit tests with the race detector, then
# (once provisioned) the integration tests against a real Redis and daprd.

GO ?= go

.PHONY: test unit vet

test: vet unit

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'); exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 15m ./...
