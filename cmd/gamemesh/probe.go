package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// runProbe checks that every URL answers GET with a 2xx status within the
// timeout: the health check of containers whose image has no shell or curl
// (compose healthchecks run it inside the container). It prints nothing when
// all are healthy and one line per failure otherwise.
func runProbe(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 2*time.Second, "deadline of each request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gamemesh probe [--timeout D] URL...\n\nexits 0 when every URL answers GET with 2xx")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() == 0 || *timeout <= 0 {
		fs.Usage()
		return errUsage
	}
	for _, raw := range fs.Args() {
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fmt.Fprintf(stderr, "gamemesh probe: %q: want an http:// or https:// URL\n", raw)
			return errUsage
		}
	}
	hc := &http.Client{Timeout: *timeout}
	defer hc.CloseIdleConnections()
	var failed error
	for _, u := range fs.Args() {
		if err := probeURL(ctx, hc, u); err != nil {
			fmt.Fprintf(stderr, "gamemesh probe: %v\n", err)
			failed = errors.Join(failed, err)
		}
	}
	if failed != nil {
		return errors.New("unhealthy")
	}
	return nil
}

func probeURL(ctx context.Context, hc *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: %s %q", u, resp.Status, body)
	}
	return nil
}
