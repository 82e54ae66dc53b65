package idip_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/idip"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func (w *world) mailbox(p gamemesh.PlayerID) *gamev1.ListMailResponse {
	w.t.Helper()
	out := new(gamev1.ListMailResponse)
	if err := functionstest.CallAs(context.Background(), w.reg, p, "", "mail", "list", &gamev1.ListMailRequest{}, out); err != nil {
		w.t.Fatal(err)
	}
	return out
}

func TestSameSerialTwiceExecutesOnceWithTheIdenticalAnswer(t *testing.T) {
	w := newWorld(t, worldOpts{})
	p, _ := w.newPlayer()
	req := idip.MailRequest{Mutation: idip.Mutation{Serial: "ops-2030-0001"}, PlayerID: string(p), Subject: "Sorry",
		Body: "for the downtime", Attachments: []idip.Item{{ID: "gold", Count: 500}}}
	s1, b1, h1 := w.rawPost("mail", req)
	if s1 != http.StatusOK || h1.Get(idip.ReplayHeader) != "" {
		t.Fatalf("first: %d %s (replay %q)", s1, b1, h1.Get(idip.ReplayHeader))
	}
	time.Sleep(5 * time.Millisecond) // a second execution would get another at_ms
	s2, b2, h2 := w.rawPost("mail", req)
	if s2 != s1 || !bytes.Equal(b1, b2) || h2.Get(idip.ReplayHeader) != "true" {
		t.Fatalf("second answer differs or is not marked a replay:\n%d %s\n%d %s (replay %q)", s1, b1, s2, b2, h2.Get(idip.ReplayHeader))
	}
	if got := w.mailbox(p); got.GetTotal() != 1 || len(got.GetMails()[0].GetAttachments()) != 1 {
		t.Fatalf("mailbox after two sends of one serial: %v, want one mail with its attachment", got)
	}
	var ans idip.Answer
	_ = json.Unmarshal(b1, &ans)
	if !ans.OK || ans.Serial != "ops-2030-0001" || ans.Command != "mail" {
		t.Fatalf("answer %+v", ans)
	}
	// Both calls are audited, the second as a replay.
	entries := w.audit(map[string]string{"command": "mail"})
	if len(entries) != 2 || !entries[0].Replay || entries[1].Replay || entries[0].Serial != "ops-2030-0001" || entries[1].Who != "alice" && entries[1].Who != "admin" {
		t.Fatalf("audit entries %+v, want the execution and the replay", entries)
	}
}

func TestSameSerialWithOtherArgumentsIsRefused(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	p, _ := w.newPlayer()
	first := idip.GrantRequest{Mutation: idip.Mutation{Serial: "grant-1"}, PlayerID: string(p), Items: []idip.Item{{ID: "gold", Count: 10}}}
	if st, ans, _ := w.post("grant", first); st != http.StatusOK {
		t.Fatalf("grant: %d %+v", st, ans)
	}
	before := w.snapshot()
	other := first
	other.Items = []idip.Item{{ID: "gold", Count: 1000}}
	st, ans, _ := w.post("grant", other)
	if st != http.StatusConflict || ans.Code != "CONFLICT" || !bytes.Contains([]byte(ans.Message), []byte("other arguments")) {
		t.Fatalf("same serial, other items: %d %+v; want 409 CONFLICT naming the reuse", st, ans)
	}
	// Another command under the same serial is refused too.
	st, ans, _ = w.post("notice", idip.NoticeRequest{Mutation: idip.Mutation{Serial: "grant-1"}, Text: "hello"})
	if st != http.StatusConflict || ans.Code != "CONFLICT" {
		t.Fatalf("same serial, other command: %d %+v", st, ans)
	}
	functionstest.WantSame(t, before, w.snapshot())
	if calls, _, grants := w.mail.counts(); calls != 1 || grants != 1 {
		t.Fatalf("mail.grant called %d times (%d grants), want once", calls, grants)
	}
}

func TestConcurrentDuplicatesExecuteOnce(t *testing.T) {
	w := newWorld(t, worldOpts{})
	p, _ := w.newPlayer()
	req := idip.MailRequest{Mutation: idip.Mutation{Serial: "race-1"}, PlayerID: string(p), Subject: "Gift",
		Attachments: []idip.Item{{ID: "potion", Count: 3}}}
	const n = 24
	bodies := make([][]byte, n)
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i], bodies[i], _ = w.rawPost("mail", req) })
	}
	wg.Wait()
	for i := range n {
		if statuses[i] != http.StatusOK || !bytes.Equal(bodies[i], bodies[0]) {
			t.Fatalf("answer %d: %d %s; want every answer identical to %s", i, statuses[i], bodies[i], bodies[0])
		}
	}
	if got := w.mailbox(p).GetTotal(); got != 1 {
		t.Fatalf("%d concurrent duplicates sent %d mails, want 1", n, got)
	}
	replays := 0
	for _, e := range w.audit(map[string]string{"command": "mail", "limit": "100"}) {
		if e.Replay {
			replays++
		}
	}
	if replays != n-1 {
		t.Fatalf("%d replays audited, want %d", replays, n-1)
	}
}

func TestFailedCommandReleasesItsSerial(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	p, _ := w.newPlayer()
	w.mail.down = true
	req := idip.GrantRequest{Mutation: idip.Mutation{Serial: "grant-down"}, PlayerID: string(p), Items: []idip.Item{{ID: "gold", Count: 10}}}
	st, ans, _ := w.post("grant", req)
	if st != http.StatusServiceUnavailable || ans.Code != "UNAVAILABLE" {
		t.Fatalf("grant while mail is down: %d %+v", st, ans)
	}
	w.mail.mu.Lock()
	w.mail.down = false
	w.mail.mu.Unlock()
	st, ans, h := w.post("grant", req)
	if st != http.StatusOK || h.Get(idip.ReplayHeader) != "" {
		t.Fatalf("same serial once mail is back: %d %+v (replay %q); want it executed", st, ans, h.Get(idip.ReplayHeader))
	}
	if _, _, grants := w.mail.counts(); grants != 1 {
		t.Fatalf("%d grants, want 1", grants)
	}
	// The IDIP store down: refused with UNAVAILABLE, nothing executed (the
	// store comes back while the audit writer retries the entry).
	w.store.SetDown(true)
	time.AfterFunc(300*time.Millisecond, func() { w.store.SetDown(false) })
	st, ans, _ = w.post("grant", idip.GrantRequest{Mutation: idip.Mutation{Serial: "grant-store-down"}, PlayerID: string(p), Items: []idip.Item{{ID: "gold", Count: 1}}})
	if st != http.StatusServiceUnavailable {
		t.Fatalf("grant with the serial store down: %d %+v", st, ans)
	}
	if calls, _, grants := w.mail.counts(); calls != 2 || grants != 1 {
		t.Fatalf("mail.grant called %d times, %d grants; the refused grant must not run", calls, grants)
	}
	if got := w.audit(map[string]string{"command": "grant"}); len(got) != 3 || got[0].Code != "UNAVAILABLE" {
		t.Fatalf("audit after the outage: %+v; want 3 grant entries, the newest UNAVAILABLE", got)
	}
}

func TestDeadExecutorsSerialIsTakenOverAfterTheLease(t *testing.T) {
	const lease = time.Second
	w := newWorld(t, worldOpts{mailDouble: true, cfg: func(c *idip.Config) { c.Lease = lease }})
	p, _ := w.newPlayer()
	req := idip.GrantRequest{Mutation: idip.Mutation{Serial: "grant-crash"}, PlayerID: string(p), Items: []idip.Item{{ID: "gold", Count: 7}}}
	// First execution: the store "crashes" right after the serial is claimed,
	// so the grant runs but its answer is never recorded: the serial stays
	// pending, as when an IDIP process dies mid-command.
	w.store.CrashAfter("idip/serial/", 1)
	claimed := time.Now()
	go func() {
		for !w.store.Crashed() {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		w.store.Heal()
	}()
	if st, ans, _ := w.post("grant", req); st != http.StatusOK {
		t.Fatalf("first execution: %d %+v (the grant ran; only its record was lost)", st, ans)
	}
	// The duplicate waits for the dead execution's lease, then takes over.
	st, ans, _ := w.post("grant", req)
	if st != http.StatusOK {
		t.Fatalf("retry after the crash: %d %+v", st, ans)
	}
	if took := time.Since(claimed); took < lease {
		t.Fatalf("the retry took over %v after the claim, before the %v lease", took, lease)
	}
	// mail.grant is idempotent by the request id derived from the serial.
	if calls, _, grants := w.mail.counts(); calls != 2 || grants != 1 {
		t.Fatalf("mail.grant called %d times for %d grants; want 2 calls (first run, takeover), 1 grant", calls, grants)
	}
	// Now recorded: a third send is a replay.
	if _, _, h := w.post("grant", req); h.Get(idip.ReplayHeader) != "true" {
		t.Fatal("third send of the serial was not a replay")
	}
}

func TestMissingOrBadSerialIsRefused(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	p, _ := w.newPlayer()
	before := w.snapshot()
	for _, serial := range []string{"", "has space", "slash/x", string(bytes.Repeat([]byte("s"), 65)), "ünï"} {
		st, ans, _ := w.post("grant", idip.GrantRequest{Mutation: idip.Mutation{Serial: serial}, PlayerID: string(p), Items: []idip.Item{{ID: "gold", Count: 1}}})
		if st != http.StatusBadRequest || ans.Code != "INVALID_ARGUMENT" {
			t.Errorf("serial %q: %d %+v, want 400", serial, st, ans)
		}
	}
	functionstest.WantSame(t, before, w.snapshot())
	if calls, _, _ := w.mail.counts(); calls != 0 {
		t.Fatalf("mail.grant ran %d times for refused serials", calls)
	}
}
