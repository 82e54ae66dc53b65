package directory

import (
	"context"
	"testing"
	"time"
)

func TestMemoryRoster(t *testing.T) {
	ctx := context.Background()
	clock := time.Unix(1_800_000_000, 0)
	r := NewMemoryRoster(10 * time.Second)
	r.now = func() time.Time { return clock }
	info := map[string]string{InfoOnline: "3"}
	if err := r.Announce(ctx, Member{ID: "gate-1", Kind: KindGate, Info: info}); err != nil {
		t.Fatal(err)
	}
	info[InfoOnline] = "changed after announcing"
	if err := r.Announce(ctx, Member{ID: "scene-1", Kind: KindScene}); err != nil {
		t.Fatal(err)
	}
	if err := r.Announce(ctx, Member{Kind: KindScene}); err == nil {
		t.Fatal("a member without ID was accepted")
	}
	gates, _ := r.Members(ctx, KindGate)
	if len(gates) != 1 || gates[0].Info[InfoOnline] != "3" || !gates[0].SeenAt.Equal(clock) {
		t.Fatalf("gates = %+v", gates)
	}
	gates[0].Info[InfoOnline] = "caller's copy"
	if again, _ := r.Members(ctx, KindGate); again[0].Info[InfoOnline] != "3" {
		t.Fatal("Members shares its Info maps with callers")
	}
	clock = clock.Add(11 * time.Second)
	if all, _ := r.Members(ctx, ""); len(all) != 0 {
		t.Fatalf("expired members returned: %+v", all)
	}
	_ = r.Announce(ctx, Member{ID: "gate-1", Kind: KindGate})
	_ = r.Leave(ctx, "gate-1")
	if all, _ := r.Members(ctx, ""); len(all) != 0 {
		t.Fatalf("after Leave: %+v", all)
	}
}
