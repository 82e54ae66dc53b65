package bots

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Scale scenarios of `gamemesh bots --scenario`.
const (
	// ScenarioHold logs every bot in and holds the sessions idle (heartbeats
	// only) for the duration: connections held, and the gates' memory per
	// connection when their /metrics are given.
	ScenarioHold = "hold"
	// ScenarioStorm fetches every bot's ticket first, then has all of them
	// connect within Window: admission rate, queue positions, queue wait,
	// SERVER_FULL beyond the queue cap.
	ScenarioStorm = "storm"
	// ScenarioResume logs the bots in through a relay in this process, cuts
	// every connection at once mid-call, and measures the sessions resuming.
	ScenarioResume = "resume"
)

// ScaleConfig describes a scale run. Bot i uses gate i mod len(Gates) (and
// its login endpoint) and the source address i mod len(SourceIPs).
type ScaleConfig struct {
	Scenario string
	// Players is how many bots this process drives (1 to 100 000); with
	// Shard set, only its share of them.
	Players int
	// Gates are the gates' client addresses (tcp://host:port), HTTP their
	// login bases (http://host:port), one per gate.
	Gates, HTTP []string
	// SourceIPs spread the connections over local addresses (loopback
	// 127.0.0.x: each has its own ephemeral ports and per-IP limits).
	SourceIPs []net.IP
	// Duration is how long sessions are held (hold) or played after the
	// storm or the cut (storm, resume).
	Duration time.Duration
	// Window is how long the storm's connects are spread over (default 10 s).
	Window time.Duration
	// Prefix starts the device ids ("<Prefix>-<i>"); random when empty.
	Prefix string
	// Metrics are the gates' /metrics URLs, to report their memory per
	// connection (hold).
	Metrics []string
	// Shard runs players [Shard.From, Shard.To) of Players (multi-process runs).
	Shard *Shard
	// Samples keeps the raw latency samples in the report (for merging shards).
	Samples bool
}

// Shard is a share of the bots of a run split across processes.
type Shard struct{ Index, Of int }

// ScaleReport is the outcome of a scale run (one JSON line).
type ScaleReport struct {
	Scenario  string `json:"scenario"`
	Players   int    `json:"players"`
	Gates     int    `json:"gates"`
	DurationS Float  `json:"duration_s"`
	// Tickets is how many guest tickets were obtained (storm: before the storm).
	Tickets int64 `json:"tickets"`
	// LoginsOK counts sessions that came online; Held those still online at
	// the end (hold, resume).
	LoginsOK int64 `json:"logins_ok"`
	Held     int64 `json:"held"`
	// Queued counts logins that waited in a queue; ServerFull those refused
	// with SERVER_FULL; MaxPosition is the largest position reported.
	Queued      int64 `json:"queued"`
	ServerFull  int64 `json:"server_full"`
	MaxPosition int64 `json:"max_position"`
	// StillQueued counts logins still waiting in a queue when the run ended.
	StillQueued int64 `json:"still_queued"`
	// AdmittedPerS is the storm's admissions per second over the span they
	// took, PeakAdmittedPerS the most in one second.
	AdmittedPerS     Float `json:"admitted_per_s,omitempty"`
	PeakAdmittedPerS int64 `json:"peak_admitted_per_s,omitempty"`
	// LoginMs is connect → online (queue included), QueueWaitMs for queued
	// logins only, ResumeMs connection lost → session resumed.
	LoginMs     Percentiles `json:"login_ms"`
	QueueWaitMs Percentiles `json:"queue_wait_ms"`
	ResumeMs    Percentiles `json:"resume_ms"`
	Resumed     int64       `json:"resumed"`
	CallsOK     int64       `json:"calls_ok"`
	// Errors counts every failure but SERVER_FULL (which the storm expects
	// beyond the queue cap); ErrorCodes names them.
	Errors     int64            `json:"errors"`
	ErrorCodes map[string]int64 `json:"error_codes,omitempty"`
	// GateKiBPerConn is each gate's resident memory added per connection
	// held (from its /metrics: process RSS and connection gauges).
	GateKiBPerConn []Float `json:"gate_kib_per_conn,omitempty"`
	// Raw samples (Samples), for merging the reports of several processes.
	RawLogin, RawQueue, RawResume []float64 `json:",omitempty"`
	RawAdmitted                   []int64   `json:",omitempty"` // unix ms of each admission
}

// Percentiles are latency figures in milliseconds.
type Percentiles struct {
	N   int   `json:"n"`
	P50 Float `json:"p50"`
	P99 Float `json:"p99"`
	Max Float `json:"max"`
}

func percentiles(s []float64) Percentiles {
	s = slices.Clone(s)
	slices.Sort(s)
	if len(s) == 0 {
		return Percentiles{}
	}
	return Percentiles{N: len(s), P50: Float(percentile(s, 50)), P99: Float(percentile(s, 99)), Max: Float(s[len(s)-1])}
}

// ticketParallel bounds the guest logins one process has in flight: the
// gate paces them anyway, and a crowd retrying 429s only burns CPU.
const ticketParallel = 32

// scaleRec collects a scale run's outcomes.
type scaleRec struct {
	mu                        sync.Mutex
	login, queue, resume      []float64
	admitted                  []int64
	codes                     map[string]int64
	tickets, ok, held, queued atomic.Int64
	full, maxPos, errs        atomic.Int64
	stillQueued               atomic.Int64
	resumed, calls            atomic.Int64
}

func (r *scaleRec) fail(err error) {
	code := codeName(gamemesh.CodeOf(err))
	r.mu.Lock()
	r.codes[code]++
	r.mu.Unlock()
	if gamemesh.CodeOf(err) == gamemesh.CodeServerFull {
		r.full.Add(1)
		return
	}
	r.errs.Add(1)
}

func (r *scaleRec) sample(dst *[]float64, d time.Duration) {
	r.mu.Lock()
	*dst = append(*dst, float64(d)/float64(time.Millisecond))
	r.mu.Unlock()
}

// scaleBot is one bot of a scale run.
type scaleBot struct {
	i        int
	gate, hb string
	ip       net.IP
	hc       *http.Client
	device   string
	ticket   string
	conn     *client.Conn
}

// RunScale runs a scale scenario and returns its report.
func RunScale(ctx context.Context, cfg ScaleConfig, log *slog.Logger) (ScaleReport, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.Scenario != ScenarioHold && cfg.Scenario != ScenarioStorm && cfg.Scenario != ScenarioResume:
		return ScaleReport{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "scenario %q: want hold, storm or resume", cfg.Scenario)
	case cfg.Players < 1 || cfg.Players > maxPlayers:
		return ScaleReport{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "players must be 1 to %d", maxPlayers)
	case len(cfg.Gates) == 0 || len(cfg.Gates) != len(cfg.HTTP):
		return ScaleReport{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "want as many login endpoints as gates (%d gates, %d endpoints)", len(cfg.Gates), len(cfg.HTTP))
	case cfg.Duration <= 0:
		return ScaleReport{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "duration must be positive")
	case cfg.Shard != nil && (cfg.Shard.Of < 1 || cfg.Shard.Index < 0 || cfg.Shard.Index >= cfg.Shard.Of):
		return ScaleReport{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "shard %d/%d", cfg.Shard.Index, cfg.Shard.Of)
	}
	if cfg.Window <= 0 {
		cfg.Window = 10 * time.Second
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "scale-" + gamemesh.NewID()[:8]
	}
	if len(cfg.SourceIPs) == 0 {
		cfg.SourceIPs = []net.IP{nil}
	}
	from, to := 0, cfg.Players
	if cfg.Shard != nil {
		from, to = cfg.Players*cfg.Shard.Index/cfg.Shard.Of, cfg.Players*(cfg.Shard.Index+1)/cfg.Shard.Of
	}
	rec := &scaleRec{codes: map[string]int64{}}
	// One HTTP client per source address, so guest logins spread too.
	clients := make([]*http.Client, len(cfg.SourceIPs))
	for i, ip := range cfg.SourceIPs {
		d := &net.Dialer{Timeout: 10 * time.Second}
		if ip != nil {
			d.LocalAddr = &net.TCPAddr{IP: ip}
		}
		tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 8, IdleConnTimeout: 10 * time.Second}
		defer tr.CloseIdleConnections()
		clients[i] = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	var relays []*relay
	gates := cfg.Gates
	if cfg.Scenario == ScenarioResume {
		gates = make([]string, len(cfg.Gates))
		for i, g := range cfg.Gates {
			r, err := startRelay(strings.TrimPrefix(g, "tcp://"))
			if err != nil {
				return ScaleReport{}, err
			}
			defer r.close()
			relays = append(relays, r)
			gates[i] = "tcp://" + r.addr()
		}
	}
	bots := make([]*scaleBot, 0, to-from)
	for i := from; i < to; i++ {
		g := i % len(gates)
		bots = append(bots, &scaleBot{i: i, gate: gates[g], hb: cfg.HTTP[g], ip: cfg.SourceIPs[i%len(cfg.SourceIPs)],
			hc: clients[i%len(clients)], device: fmt.Sprintf("%s-%d", cfg.Prefix, i)})
	}
	rss0 := gateMemory(ctx, cfg.Metrics)
	start := time.Now()
	log.Info("scale run", "scenario", cfg.Scenario, "bots", len(bots), "gates", len(cfg.Gates), "source_ips", len(cfg.SourceIPs))

	var wg sync.WaitGroup
	each := func(f func(b *scaleBot)) {
		sem := make(chan struct{}, ticketParallel)
		for _, b := range bots {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				f(b)
			}()
		}
		wg.Wait()
	}
	// Tickets first for the storm (so the storm is the gates' alone), and
	// as each bot goes otherwise.
	if cfg.Scenario == ScenarioStorm {
		each(func(b *scaleBot) { b.getTicket(ctx, rec) })
		log.Info("tickets ready", "tickets", rec.tickets.Load(), "took", time.Since(start))
	}
	play, cancel := context.WithCancel(ctx)
	defer cancel()
	stormStart := time.Now()
	fetching := make(chan struct{}, ticketParallel) // guest logins in flight, this process
	// A login still waiting in a queue when the run ends is counted as such.
	logins, stopLogins := context.WithDeadline(play, stormStart.Add(cfg.Window+cfg.Duration))
	defer stopLogins()
	for k, b := range bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cfg.Scenario == ScenarioStorm {
				delay := cfg.Window * time.Duration(k) / time.Duration(len(bots))
				if !sleep(play, time.Until(stormStart.Add(delay))) {
					return
				}
				b.login(logins, play, rec)
				return
			}
			fetching <- struct{}{}
			ok := b.getTicket(play, rec)
			<-fetching
			if !ok {
				return
			}
			// Each bot may wait in a queue as long as the run would hold it.
			lctx, cancel := context.WithTimeout(play, cfg.Window+cfg.Duration)
			defer cancel()
			b.login(lctx, play, rec)
		}()
	}
	wg.Wait()
	log.Info("logged in", "ok", rec.ok.Load(), "queued", rec.queued.Load(), "server_full", rec.full.Load(), "errors", rec.errs.Load())

	switch cfg.Scenario {
	case ScenarioResume:
		runResume(play, cfg, bots, relays, rec, log)
	default:
		sleep(play, cfg.Duration)
	}
	rss1 := gateMemory(ctx, cfg.Metrics) // after the hold: what idle sessions cost
	for _, b := range bots {
		if b.conn != nil {
			select {
			case <-b.conn.Done():
				rec.fail(b.conn.Err())
			default:
				rec.held.Add(1)
			}
		}
	}
	each(func(b *scaleBot) {
		if b.conn != nil {
			_ = b.conn.Close()
		}
	})
	rep := rec.report(cfg, time.Since(start))
	for i := range rss1 {
		if i < len(rss0) && rss1[i].conns > rss0[i].conns {
			rep.GateKiBPerConn = append(rep.GateKiBPerConn,
				Float(float64(rss1[i].rss-rss0[i].rss)/float64(rss1[i].conns-rss0[i].conns)/1024))
		}
	}
	if ctx.Err() != nil {
		return rep, fmt.Errorf("bots: run interrupted: %w", ctx.Err())
	}
	return rep, nil
}

// getTicket fetches the bot's guest ticket, retrying while the gate paces
// guest logins.
func (b *scaleBot) getTicket(ctx context.Context, rec *scaleRec) bool {
	backoff := 100 * time.Millisecond
	for {
		tk, err := client.GuestLoginWith(ctx, b.hc, b.hb, b.device)
		if err == nil {
			b.ticket = tk.Ticket
			rec.tickets.Add(1)
			return true
		}
		switch gamemesh.CodeOf(err) {
		case gamemesh.CodeRateLimited, gamemesh.CodeDeadlineExceeded, gamemesh.CodeUnavailable:
			// Paced or overloaded: a real client backs off and tries again.
		default:
			backoff = 0
		}
		if backoff == 0 || !sleep(ctx, backoff) {
			if ctx.Err() == nil {
				rec.fail(err)
			}
			return false
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// login dials and logs in within ctx; the session then lives until play ends.
func (b *scaleBot) login(ctx, play context.Context, rec *scaleRec) {
	start := time.Now()
	var queued bool
	var maxPos int64
	c, err := client.Dial(ctx, b.gate, b.ticket, client.Options{
		LocalIP: b.ip,
		OnQueue: func(q *gamev1.QueueStatus) {
			queued = true
			maxPos = max(maxPos, q.GetPosition())
		},
		OnResume: func(d time.Duration) {
			rec.resumed.Add(1)
			rec.sample(&rec.resume, d)
		},
	})
	took := time.Since(start)
	if queued && err != nil && ctx.Err() != nil && play.Err() == nil {
		rec.stillQueued.Add(1)
		return
	}
	if maxPos > 0 {
		for cur := rec.maxPos.Load(); maxPos > cur && !rec.maxPos.CompareAndSwap(cur, maxPos); cur = rec.maxPos.Load() {
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			rec.fail(err)
		}
		return
	}
	b.conn = c
	rec.ok.Add(1)
	rec.sample(&rec.login, took)
	rec.mu.Lock()
	rec.admitted = append(rec.admitted, time.Now().UnixMilli())
	rec.mu.Unlock()
	if queued {
		rec.queued.Add(1)
		rec.sample(&rec.queue, took)
	}
}

// runResume has every bot call in a loop, cuts every relayed connection
// once the calls run, and lets the sessions resume for the duration.
func runResume(ctx context.Context, cfg ScaleConfig, bots []*scaleBot, relays []*relay, rec *scaleRec, log *slog.Logger) {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, b := range bots {
		if b.conn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-b.conn.Done():
					return
				default:
				}
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := b.conn.CallRaw(cctx, RouteAchievementList, mustMarshal(&gamev1.ListAchievementsRequest{}))
				cancel()
				if err != nil {
					if ctx.Err() == nil && b.conn.Err() == nil {
						rec.fail(err)
					}
					return
				}
				rec.calls.Add(1)
				if !sleep(ctx, 500*time.Millisecond) {
					return
				}
			}
		}()
	}
	sleep(ctx, cfg.Duration/4)
	n := 0
	for _, r := range relays {
		n += r.cut()
	}
	log.Info("cut every connection", "connections", n)
	sleep(ctx, cfg.Duration*3/4)
	close(stop)
	wg.Wait()
}

func mustMarshal(m proto.Message) []byte {
	b, _ := proto.Marshal(m)
	return b
}

func (r *scaleRec) report(cfg ScaleConfig, elapsed time.Duration) ScaleReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := ScaleReport{
		Scenario: cfg.Scenario, Players: cfg.Players, Gates: len(cfg.Gates), DurationS: Float(elapsed.Seconds()),
		Tickets: r.tickets.Load(), LoginsOK: r.ok.Load(), Held: r.held.Load(), Queued: r.queued.Load(),
		ServerFull: r.full.Load(), MaxPosition: r.maxPos.Load(), StillQueued: r.stillQueued.Load(), Resumed: r.resumed.Load(), CallsOK: r.calls.Load(),
		Errors:  r.errs.Load(),
		LoginMs: percentiles(r.login), QueueWaitMs: percentiles(r.queue), ResumeMs: percentiles(r.resume),
	}
	rep.AdmittedPerS, rep.PeakAdmittedPerS = admissionRate(r.admitted)
	if len(r.codes) > 0 {
		rep.ErrorCodes = cloneCounts(r.codes)
	}
	if cfg.Samples {
		rep.RawLogin, rep.RawQueue, rep.RawResume, rep.RawAdmitted = r.login, r.queue, r.resume, r.admitted
	}
	return rep
}

func cloneCounts(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// admissionRate is admissions per second over their span, and the most in
// one second.
func admissionRate(ms []int64) (Float, int64) {
	if len(ms) < 2 {
		return 0, int64(len(ms))
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	span := float64(s[len(s)-1]-s[0]) / 1000
	peak, j := 0, 0
	for i := range s {
		for s[i]-s[j] >= 1000 {
			j++
		}
		peak = max(peak, i-j+1)
	}
	if span <= 0 {
		return 0, int64(peak)
	}
	return Float(float64(len(s)) / span), int64(peak)
}

// MergeScale combines the reports of the shards of one run (made with
// Samples) into one.
func MergeScale(parts []ScaleReport) ScaleReport {
	if len(parts) == 0 {
		return ScaleReport{}
	}
	out := ScaleReport{Scenario: parts[0].Scenario, Players: parts[0].Players, Gates: parts[0].Gates}
	codes := map[string]int64{}
	var login, queue, resume []float64
	var admitted []int64
	for _, p := range parts {
		out.DurationS = max(out.DurationS, p.DurationS)
		out.Tickets += p.Tickets
		out.LoginsOK += p.LoginsOK
		out.Held += p.Held
		out.Queued += p.Queued
		out.ServerFull += p.ServerFull
		out.MaxPosition = max(out.MaxPosition, p.MaxPosition)
		out.StillQueued += p.StillQueued
		out.Resumed += p.Resumed
		out.CallsOK += p.CallsOK
		out.Errors += p.Errors
		for k, v := range p.ErrorCodes {
			codes[k] += v
		}
		login, queue, resume = append(login, p.RawLogin...), append(queue, p.RawQueue...), append(resume, p.RawResume...)
		admitted = append(admitted, p.RawAdmitted...)
		if len(p.GateKiBPerConn) > len(out.GateKiBPerConn) {
			out.GateKiBPerConn = p.GateKiBPerConn
		}
	}
	out.LoginMs, out.QueueWaitMs, out.ResumeMs = percentiles(login), percentiles(queue), percentiles(resume)
	out.AdmittedPerS, out.PeakAdmittedPerS = admissionRate(admitted)
	if len(codes) > 0 {
		out.ErrorCodes = codes
	}
	return out
}

// memSample is one gate's RSS and connections from its /metrics.
type memSample struct{ rss, conns float64 }

func gateMemory(ctx context.Context, urls []string) []memSample {
	out := make([]memSample, len(urls))
	for i, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			continue
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				continue
			}
			switch f[0] {
			case "process_resident_memory_bytes":
				out[i].rss = v
			case "gamemesh_gate_connections":
				out[i].conns = v
			}
		}
	}
	return out
}

// ParseIPRange parses "127.0.0.2-127.0.0.201" or a comma list of addresses.
func ParseIPRange(s string) ([]net.IP, error) {
	if s == "" {
		return nil, nil
	}
	if a, b, ok := strings.Cut(s, "-"); ok {
		lo, hi := net.ParseIP(a).To4(), net.ParseIP(b).To4()
		if lo == nil || hi == nil || lo[0] != hi[0] || lo[1] != hi[1] || lo[2] != hi[2] || lo[3] > hi[3] {
			return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "address range %q: want a.b.c.x-a.b.c.y", s)
		}
		var out []net.IP
		for x := int(lo[3]); x <= int(hi[3]); x++ {
			out = append(out, net.IPv4(lo[0], lo[1], lo[2], byte(x)))
		}
		return out, nil
	}
	var out []net.IP
	for _, p := range strings.Split(s, ",") {
		ip := net.ParseIP(strings.TrimSpace(p))
		if ip == nil {
			return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "address %q", p)
		}
		out = append(out, ip)
	}
	return out, nil
}
