package system

import (
	"context"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

type recordingInvoker struct{ calls []string }

func (r *recordingInvoker) Invoke(_ context.Context, req gamemesh.Request) ([]byte, error) {
	r.calls = append(r.calls, req.App+"."+req.Method)
	return []byte("remote"), nil
}

func TestLocalFirst(t *testing.T) {
	reg := functions.NewRegistry()
	reg.Handle("mail", "send", functions.Method{Handler: func(context.Context, gamemesh.Request) ([]byte, error) { return []byte("local"), nil }})
	local, remote := &recordingInvoker{}, &recordingInvoker{}
	inv := localFirst{reg: reg, local: invokerFunc(func(ctx context.Context, req gamemesh.Request) ([]byte, error) {
		local.calls = append(local.calls, req.App+"."+req.Method)
		return reg.Call(ctx, req)
	}), remote: remote}
	ctx := context.Background()
	if out, err := inv.Invoke(ctx, gamemesh.Request{App: "mail", Method: "send"}); err != nil || string(out) != "local" {
		t.Fatalf("served here: %q %v", out, err)
	}
	if out, err := inv.Invoke(ctx, gamemesh.Request{App: "guild", Method: "info"}); err != nil || string(out) != "remote" {
		t.Fatalf("served elsewhere: %q %v", out, err)
	}
	if len(local.calls) != 1 || len(remote.calls) != 1 || remote.calls[0] != "guild.info" {
		t.Fatalf("local %v remote %v", local.calls, remote.calls)
	}
}

type invokerFunc func(context.Context, gamemesh.Request) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	return f(ctx, req)
}
