package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// probe exits 0 only when every URL answers 2xx in time, names each failing
// URL, and refuses bad arguments with exit 2 before any request.
func TestProbe(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/slow":
			time.Sleep(500 * time.Millisecond)
		default:
			http.Error(w, "not ready: sidecar", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{srv.URL + "/ok", srv.URL + "/ok"}, 0, ""},
		{[]string{srv.URL + "/ok", srv.URL + "/down"}, 1, `/down: 503 Service Unavailable "not ready: sidecar\n"`},
		{[]string{"--timeout", "100ms", srv.URL + "/slow"}, 1, "/slow: "},
		{[]string{closed.URL + "/healthz"}, 1, "connection refused"},
		{nil, 2, "usage: gamemesh probe"},
		{[]string{"127.0.0.1:7101/healthz"}, 2, "want an http:// or https:// URL"},
		{[]string{"--timeout", "0s", srv.URL + "/ok"}, 2, "usage: gamemesh probe"},
		{[]string{"--timeout", "soon", srv.URL + "/ok"}, 2, "invalid value"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		hitsBefore := hits.Load()
		if got := run(context.Background(), append([]string{"probe"}, c.args...), &stdout, &stderr); got != c.code {
			t.Errorf("probe %v: exit %d, want %d (stderr %q)", c.args, got, c.code, stderr.String())
		}
		if c.want != "" && !strings.Contains(stderr.String(), c.want) {
			t.Errorf("probe %v: stderr %q does not say %q", c.args, stderr.String(), c.want)
		}
		if c.code == 0 && stderr.Len() != 0 {
			t.Errorf("probe %v: healthy but wrote %q", c.args, stderr.String())
		}
		if c.code == 2 && hits.Load() != hitsBefore {
			t.Errorf("probe %v: refused arguments but sent a request", c.args)
		}
		if stdout.Len() != 0 {
			t.Errorf("probe %v: wrote %q on stdout", c.args, stdout.String())
		}
	}
}
