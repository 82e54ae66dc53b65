package idip_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/functions/idip"
)

func (w *world) getOnline(t *testing.T, cli *idip.Client) {
	t.Helper()
	if _, err := cli.Get(context.Background(), "online", nil, nil); err != nil {
		t.Error(err)
	}
}

// auditAll pages through the whole log with before cursors.
func auditAll(t *testing.T, cli *idip.Client, q url.Values) []idip.AuditEntry {
	t.Helper()
	var all []idip.AuditEntry
	for {
		var res idip.AuditResult
		if _, err := cli.Get(context.Background(), "audit", q, &res); err != nil {
			t.Fatal(err)
		}
		all = append(all, res.Entries...)
		if res.NextBefore == 0 {
			return all
		}
		q.Set("before", strconv.FormatInt(res.NextBefore, 10))
	}
}

func TestAuditLogIsAppendOnlyAcrossPages(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	p, _ := w.newPlayer()
	const n = 150
	for range n {
		w.getOnline(t, w.cli)
	}
	page0 := w.mem.Snapshot()["idip/audit/page/0"]
	var info idip.PlayerInfo
	if _, err := w.cli.Get(context.Background(), "player", url.Values{"player_id": {string(p)}}, &info); err != nil {
		t.Fatal(err)
	}
	if got := w.mem.Snapshot()["idip/audit/page/0"]; got != page0 || page0 == "" {
		t.Fatal("a full page was written again")
	}
	// Newest first, every entry once, in sequence order, through the cursor.
	all := auditAll(t, w.cli, url.Values{"limit": {"40"}})
	if len(all) != n+1 {
		t.Fatalf("%d entries, want %d", len(all), n+1)
	}
	for i, e := range all {
		if e.Seq != int64(n-i) {
			t.Fatalf("entry %d has seq %d, want %d (newest first, no gaps)", i, e.Seq, n-i)
		}
		if e.Who != "alice" || e.Token != "admin" || e.Status != http.StatusOK || e.Node != "idip-test" || e.ID == "" {
			t.Fatalf("entry %+v", e)
		}
	}
	if all[0].Command != "player" || all[0].Player != string(p) {
		t.Fatalf("newest entry %+v, want the player query", all[0])
	}
	// Filters: by player, by command, by time.
	if got := w.audit(map[string]string{"player": string(p)}); len(got) != 1 {
		t.Fatalf("by player: %d entries", len(got))
	}
	if got := w.audit(map[string]string{"command": "online", "limit": "500"}); len(got) != n {
		t.Fatalf("by command: %d entries, want %d", len(got), n)
	}
	if got := w.audit(map[string]string{"since": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}); len(got) != 0 {
		t.Fatalf("since the future: %d entries", len(got))
	}
	mid := all[n/2].AtMs
	until := auditAll(t, w.cli, url.Values{"until": {strconv.FormatInt(mid, 10)}, "limit": {"500"}})
	for _, e := range until {
		if e.AtMs > mid {
			t.Fatalf("entry at %d after until %d", e.AtMs, mid)
		}
	}
	if len(until) < n/2 {
		t.Fatalf("until: %d entries, want at least %d", len(until), n/2)
	}
	if _, err := w.cli.Get(context.Background(), "audit", url.Values{"since": {"yesterday"}}, nil); err == nil {
		t.Fatal("a malformed since was accepted")
	}
}

func TestAuditFromConcurrentReplicasLosesNothing(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	// A second IDIP process on the same store, as two replicas would be.
	other, err := idip.New(idip.Config{Addr: "127.0.0.1:0", Token: testToken, Node: "idip-2"}, idip.Deps{Store: w.store,
		Invoker: nopInvoker{}, Locator: w.dir, Publisher: w.bus, Roster: w.roster, Config: w.config})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		w.cli.HTTP.CloseIdleConnections() // else Shutdown waits 5 s for connections dialled but never used
		_ = other.Stop(context.Background())
	}()
	clients := []*idip.Client{w.cli, {URL: other.URL(), Token: testToken, Operator: "bob", HTTP: w.cli.HTTP}}
	w.store.LoseAcks(5) // some page writes land but are answered as failures
	const per = 60
	var wg sync.WaitGroup
	for _, c := range clients {
		for range per {
			wg.Go(func() { w.getOnline(t, c) })
		}
	}
	wg.Wait()
	all := auditAll(t, w.cli, url.Values{"limit": {"500"}})
	if len(all) != 2*per {
		t.Fatalf("%d entries for %d calls", len(all), 2*per)
	}
	seqs, ids := map[int64]bool{}, map[string]bool{}
	nodes := map[string]int{}
	for _, e := range all {
		if seqs[e.Seq] || ids[e.ID] {
			t.Fatalf("entry %+v stored twice", e)
		}
		seqs[e.Seq], ids[e.ID] = true, true
		nodes[e.Node]++
	}
	if nodes["idip-test"] != per || nodes["idip-2"] != per {
		t.Fatalf("entries per node %v", nodes)
	}
}
