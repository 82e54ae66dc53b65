package bots

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh"
)

// progressEvery is the interval of the progress log line.
const progressEvery = 5 * time.Second

// Run logs cfg.Players bots in, has them play for cfg.Duration, logs them out
// and returns the report. It returns an INVALID_ARGUMENT error for a bad
// Config; UNAVAILABLE, with the report, when no bot could log in; ctx's error,
// with the report so far, when ctx ends first.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) (Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	log := logger.With("component", "bots", "prefix", cfg.Prefix)
	log.Info("bots starting", "players", cfg.Players, "duration", cfg.Duration, "addr", cfg.Addr,
		"http", cfg.HTTP, "mail_every", cfg.MailEvery, "seed", cfg.Seed)

	rec := newRecorder(cfg.Seed)
	rec.onNewCode = func(route string, err error) {
		log.Warn("first failure with this code", "route", route, "err", err)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: cfg.CallTimeout}
	dir := newDirectory()
	guilds := &guildBoard{}

	start := time.Now()
	play, stop := context.WithDeadline(ctx, start.Add(cfg.Duration))
	defer stop()
	var wg sync.WaitGroup
	for i := range cfg.Players {
		b := &bot{
			index:   i,
			device:  fmt.Sprintf("%s-%d", cfg.Prefix, i),
			cfg:     &cfg,
			rec:     rec,
			dir:     dir,
			guilds:  guilds,
			hc:      hc,
			rng:     rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i))),
			log:     log.With("bot", i),
			newMail: make(chan struct{}, 1),
			rt:      newBotScene(cfg.Seed, i),
		}
		delay := cfg.Stagger * time.Duration(i) / time.Duration(cfg.Players)
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.run(ctx, play, delay)
		}()
	}
	if cfg.IDIP != "" {
		op := newOperator(&cfg, rec, dir, hc, log)
		wg.Go(func() { op.run(ctx, play) })
	}
	waitLogging(&wg, rec, log)
	rep := rec.report(cfg.Players, time.Since(start))
	if !cfg.Scene.Off {
		rep.Scene = rec.scene.report()
	}
	log.Info("bots done", "logins_ok", rep.LoginsOK, "errors", rep.Errors, "pushes", rep.Pushes,
		"duration_s", float64(rep.DurationS))
	switch {
	case ctx.Err() != nil:
		return rep, fmt.Errorf("bots: run interrupted: %w", ctx.Err())
	case rep.LoginsOK == 0:
		return rep, gamemesh.Errorf(gamemesh.CodeUnavailable, "no bot could log in (%d attempts failed)", rep.Login.Err)
	}
	return rep, nil
}

// waitLogging waits for the bots, logging progress meanwhile.
func waitLogging(wg *sync.WaitGroup, rec *recorder, log *slog.Logger) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			log.Info("bots progress", "online", rec.online.Load(), "logins_ok", rec.loginsOK.Load(),
				"calls", rec.calls.Load(), "errors", rec.errors.Load(), "pushes", rec.pushes.Load())
		}
	}
}
