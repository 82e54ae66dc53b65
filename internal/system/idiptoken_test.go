package system

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gamemesh/gamemesh"
)

// secretsFunc answers Get with a function (a secret store in a test).
type secretsFunc func(name string) (string, error)

func (f secretsFunc) Get(_ context.Context, name string) (string, error) { return f(name) }

// The Dapr-mode IDIP token: the secret wins, a weak secret is refused, a
// missing secret falls back to a generated file only when one is named, and
// an unreachable secret store never falls back (a sidecar hiccup must not
// swap the operators' token for a new one).
func TestDaprIDIPToken(t *testing.T) {
	strong := strings.Repeat("ab12", 8)
	notFound := secretsFunc(func(n string) (string, error) {
		return "", gamemesh.Errorf(gamemesh.CodeNotFound, "secret %s not found", n)
	})
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)

	got, err := daprIDIPToken(ctx, secretsFunc(func(string) (string, error) { return strong, nil }), filepath.Join(t.TempDir(), "t"), quiet)
	if err != nil || got != strong {
		t.Fatalf("secret present: %q, %v; want the secret", got, err)
	}
	if _, err := daprIDIPToken(ctx, secretsFunc(func(string) (string, error) { return "admin", nil }), "", quiet); err == nil {
		t.Fatal("a weak secret was accepted")
	}
	if _, err := daprIDIPToken(ctx, notFound, "", quiet); err == nil || !strings.Contains(err.Error(), IDIPTokenSecretName) {
		t.Fatalf("no secret, no file: %v; want an error naming the secret", err)
	}
	file := filepath.Join(t.TempDir(), "data", "idip.token")
	down := secretsFunc(func(string) (string, error) {
		return "", gamemesh.Wrap(gamemesh.CodeUnavailable, errors.New("connection refused"), "secret get")
	})
	if _, err := daprIDIPToken(ctx, down, file, quiet); err == nil {
		t.Fatal("an unreachable secret store fell back to a file")
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the failed start wrote %s (%v)", file, err)
	}

	var logs bytes.Buffer
	first, err := daprIDIPToken(ctx, notFound, file, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), first) || !strings.Contains(logs.String(), "generated") {
		t.Fatalf("the generated token was not printed: %s", logs.String())
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v; want mode 0600", fi, err)
	}
	logs.Reset()
	again, err := daprIDIPToken(ctx, notFound, file, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || again != first {
		t.Fatalf("restart: %q, %v; want the kept token %q", again, err, first)
	}
	if strings.Contains(logs.String(), first) {
		t.Fatal("the kept token was printed again")
	}
	if err := os.WriteFile(file, []byte("admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := daprIDIPToken(ctx, notFound, file, quiet); err == nil {
		t.Fatal("a weak token file was accepted")
	}
}
