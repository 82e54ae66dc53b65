package luavm

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testLogger logs to the test output when -v and LUAVM_LOG=1, else discards.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("LUAVM_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// startPool starts a pool closed at the end of the test.
func startPool(t testing.TB, opts Options) *Pool {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func bundleOf(t testing.TB, module string, src string) *Bundle {
	t.Helper()
	b, err := NewBundle(module, []File{{Name: "main.lua", Source: src}})
	if err != nil {
		t.Fatalf("NewBundle: %v", err)
	}
	return b
}

// patchNow patches without canary.
func patchNow(t testing.TB, p *Pool, module, src string) Generation {
	t.Helper()
	g, err := p.Patch(context.Background(), bundleOf(t, module, src), PatchOptions{By: "test", SkipCanary: true})
	if err != nil {
		t.Fatalf("Patch: %v", err)
	}
	return g
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
