package dapr

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	commonv1pb "github.com/dapr/dapr/pkg/proto/common/v1"
	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gamemesh/gamemesh"
)

func TestStoreWritesWithFirstWriteAndTTL(t *testing.T) {
	f := &fakeDaprd{}
	s := NewStore(startFake(t, f), "statestore")
	ctx := t.Context()
	cases := []struct {
		name     string
		opts     gamemesh.SetOptions
		wantETag string
		wantTTL  string
	}{
		{"create-only", gamemesh.SetOptions{}, createOnlyETag, "-1"},
		{"ttl rounded up", gamemesh.SetOptions{TTL: 1500 * time.Millisecond}, createOnlyETag, "2"},
		{"ttl sub-second", gamemesh.SetOptions{TTL: time.Millisecond}, createOnlyETag, "1"},
	}
	for _, c := range cases {
		if err := s.Set(ctx, "k", []byte("v"), c.opts); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		req := f.lastSave().GetStates()[0]
		if got := req.GetEtag().GetValue(); got != c.wantETag {
			t.Errorf("%s: ETag sent %q, want %q", c.name, got, c.wantETag)
		}
		if got := req.GetOptions().GetConcurrency(); got != commonv1pb.StateOptions_CONCURRENCY_FIRST_WRITE {
			t.Errorf("%s: concurrency %v, want first-write", c.name, got)
		}
		if got := req.GetMetadata()[ttlMetadataKey]; got != c.wantTTL {
			t.Errorf("%s: ttlInSeconds %q, want %q", c.name, got, c.wantTTL)
		}
	}
}

func TestStoreBadInputChangesNothing(t *testing.T) {
	f := &fakeDaprd{}
	s := NewStore(startFake(t, f), "statestore")
	ctx := t.Context()
	cases := []struct {
		name string
		key  string
		opts gamemesh.SetOptions
		want gamemesh.Code
	}{
		{"empty key", "", gamemesh.SetOptions{}, gamemesh.CodeInvalidArgument},
		{"unconditional with etag", "k", gamemesh.SetOptions{Unconditional: true, ETag: "3"}, gamemesh.CodeInvalidArgument},
		{"negative ttl", "k", gamemesh.SetOptions{TTL: -time.Second}, gamemesh.CodeInvalidArgument},
		{"foreign etag", "k", gamemesh.SetOptions{ETag: "not-a-version"}, gamemesh.CodeConflict},
		{"zero etag", "k", gamemesh.SetOptions{ETag: "0"}, gamemesh.CodeConflict},
	}
	for _, c := range cases {
		if code := gamemesh.CodeOf(s.Set(ctx, c.key, []byte("v"), c.opts)); code != c.want {
			t.Errorf("%s: CodeOf = %v, want %v", c.name, code, c.want)
		}
	}
	if _, err := s.Get(ctx, ""); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Errorf("Get of empty key: %v", err)
	}
	if err := s.Delete(ctx, "", ""); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Errorf("Delete of empty key: %v", err)
	}
	if n := len(f.saves) + len(f.deletes); n != 0 {
		t.Fatalf("bad input reached the sidecar %d times", n)
	}
}

// TestStoreRefusalIsResolvedByReading: an Aborted write is CONFLICT only when
// the key really differs from what the guard expected.
func TestStoreRefusalIsResolvedByReading(t *testing.T) {
	aborted := status.Error(codes.Aborted, "possible etag mismatch")
	cases := []struct {
		name    string
		etag    string
		current *runtimev1pb.GetStateResponse
		getErr  error
		want    gamemesh.Code
	}{
		{"stale etag", "3", &runtimev1pb.GetStateResponse{Data: []byte("x"), Etag: "4"}, nil, gamemesh.CodeConflict},
		{"etag still matches: outage", "3", &runtimev1pb.GetStateResponse{Data: []byte("x"), Etag: "3"}, nil, gamemesh.CodeUnavailable},
		{"etag on deleted key", "3", &runtimev1pb.GetStateResponse{}, nil, gamemesh.CodeConflict},
		{"create-only, key exists", "", &runtimev1pb.GetStateResponse{Data: []byte("x"), Etag: "1"}, nil, gamemesh.CodeConflict},
		{"create-only, key absent: outage", "", &runtimev1pb.GetStateResponse{}, nil, gamemesh.CodeUnavailable},
		{"re-read fails", "3", nil, status.Error(codes.Internal, "redis down"), gamemesh.CodeUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeDaprd{
				save: func(*runtimev1pb.SaveStateRequest) error { return aborted },
				get: func(*runtimev1pb.GetStateRequest) (*runtimev1pb.GetStateResponse, error) {
					return c.current, c.getErr
				},
			}
			s := NewStore(startFake(t, f), "statestore")
			err := s.Set(t.Context(), "k", []byte("v"), gamemesh.SetOptions{ETag: c.etag})
			if code := gamemesh.CodeOf(err); code != c.want {
				t.Fatalf("CodeOf = %v (%v), want %v", code, err, c.want)
			}
		})
	}
}

func TestStoreErrorMapping(t *testing.T) {
	cases := []struct {
		err  error
		want gamemesh.Code
	}{
		{status.Error(codes.Internal, "failed saving state"), gamemesh.CodeUnavailable},
		{status.Error(codes.Unavailable, "no sidecar"), gamemesh.CodeUnavailable},
		{status.Error(codes.InvalidArgument, "key can't contain ||"), gamemesh.CodeInvalidArgument},
		{status.Error(codes.DeadlineExceeded, "slow"), gamemesh.CodeDeadlineExceeded},
	}
	for _, c := range cases {
		f := &fakeDaprd{save: func(*runtimev1pb.SaveStateRequest) error { return c.err }}
		s := NewStore(startFake(t, f), "statestore")
		if code := gamemesh.CodeOf(s.Set(t.Context(), "k", []byte("v"), gamemesh.SetOptions{})); code != c.want {
			t.Errorf("sidecar error %v: CodeOf = %v, want %v", c.err, code, c.want)
		}
	}
}

// TestStoreUndoesResurrection: state.redis applies an ETag write to a missing
// key; the Store detects the re-created key (version 1) and deletes it again.
func TestStoreUndoesResurrection(t *testing.T) {
	f := &fakeDaprd{
		get: func(*runtimev1pb.GetStateRequest) (*runtimev1pb.GetStateResponse, error) {
			return &runtimev1pb.GetStateResponse{Data: []byte("v"), Etag: resurrectedETag}, nil
		},
	}
	s := NewStore(startFake(t, f), "statestore")
	err := s.Set(t.Context(), "k", []byte("v"), gamemesh.SetOptions{ETag: "7"})
	if !errors.Is(err, gamemesh.ErrConflict) {
		t.Fatalf("write that re-created a deleted key: %v, want CONFLICT", err)
	}
	if len(f.deletes) != 1 || f.deletes[0].GetEtag().GetValue() != resurrectedETag {
		t.Fatalf("deletes = %v, want one guarded by ETag %s", f.deletes, resurrectedETag)
	}
}

func TestStoreGetNotFound(t *testing.T) {
	s := NewStore(startFake(t, &fakeDaprd{}), "statestore")
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v", err)
	}
}

func TestStoreUnconditionalIsCAS(t *testing.T) {
	var version atomic.Int32
	f := &fakeDaprd{}
	f.get = func(*runtimev1pb.GetStateRequest) (*runtimev1pb.GetStateResponse, error) {
		if version.Load() == 0 {
			return &runtimev1pb.GetStateResponse{}, nil
		}
		return &runtimev1pb.GetStateResponse{Data: []byte("x"), Etag: "5"}, nil
	}
	f.save = func(in *runtimev1pb.SaveStateRequest) error {
		if version.Add(1) == 1 { // someone else created the key first
			return status.Error(codes.Aborted, "mismatch")
		}
		return nil
	}
	s := NewStore(startFake(t, f), "statestore")
	if err := s.Set(context.Background(), "k", []byte("v"), gamemesh.SetOptions{Unconditional: true}); err != nil {
		t.Fatal(err)
	}
	if got := f.lastSave().GetStates()[0].GetEtag().GetValue(); got != "5" {
		t.Fatalf("retry after a lost race sent ETag %q, want the current one (5)", got)
	}
}

func TestTTLSeconds(t *testing.T) {
	for in, want := range map[time.Duration]string{0: "-1", time.Second: "1", 1001 * time.Millisecond: "2", time.Minute: "60"} {
		if got := ttlSeconds(in); got != want {
			t.Errorf("ttlSeconds(%v) = %s, want %s", in, got, want)
		}
	}
}
