package idip_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gamemesh/gamemesh/functions/idip"
)

// BenchmarkOnline is a read through the whole API (token, dispatch, roster,
// answer, audit entry group-committed to the store), from parallel clients.
func BenchmarkOnline(b *testing.B) {
	w := newWorld(&testing.T{}, worldOpts{mailDouble: true})
	defer stopWorld(w)
	w.announce("gate-1", 10)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := w.cli.Get(context.Background(), "online", nil, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkNotice is a changing command: serial claimed and answered (two
// store writes), roster read, one push per gate, audit entry.
func BenchmarkNotice(b *testing.B) {
	w := newWorld(&testing.T{}, worldOpts{mailDouble: true})
	defer stopWorld(w)
	w.announce("gate-1", 10)
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := idip.NoticeRequest{Mutation: idip.Mutation{Serial: fmt.Sprintf("bench-%d", n.Add(1))}, Text: "benchmark notice"}
			if _, err := w.cli.Post(context.Background(), "notice", req, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBareHTTP is the baseline: the same client and loopback HTTP, a
// handler that answers a fixed body of the same size.
func BenchmarkBareHTTP(b *testing.B) {
	body := []byte(`{"ok":true,"command":"online","at_ms":1796352471875,"result":{"total":10,"gates":[{"id":"gate-1","online":10,"seen_at":"2026-12-04T02:47:49.433894028Z"}]}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	cli := &idip.Client{URL: srv.URL, Token: testToken, HTTP: &http.Client{Transport: &http.Transport{}}}
	defer cli.HTTP.CloseIdleConnections()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cli.Get(context.Background(), "online", nil, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
