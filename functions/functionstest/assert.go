package functionstest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

// Timeout bounds a Context: far above what any in-memory call needs, far
// below a CI timeout.
const Timeout = 20 * time.Second

// Context returns a context that ends after Timeout or with the test,
// whichever comes first.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

// WantCode fails the test unless err carries code want and, for any code but
// OK, is a *gamemesh.Error with a client message.
func WantCode(t testing.TB, err error, want gamemesh.Code) {
	t.Helper()
	if got := gamemesh.CodeOf(err); got != want {
		t.Fatalf("code = %v (err %v), want %v", got, err, want)
		return
	}
	var e *gamemesh.Error
	if want != gamemesh.CodeOK && (!errors.As(err, &e) || e.Message == "") {
		t.Fatalf("error %v has no client message", err)
	}
}

// WantSame fails the test unless two MemStore snapshots hold the same keys
// and values.
func WantSame(t testing.TB, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("store changed: %d keys before, %d after", len(before), len(after))
		return
	}
	for k, v := range before {
		if got, ok := after[k]; !ok || got != v {
			t.Fatalf("store changed at %s", k)
			return
		}
	}
}
