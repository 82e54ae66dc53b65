package bots

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gamemesh/gamemesh"
)

// maxSamples bounds the latency samples kept per route; beyond it the kept
// samples are a uniform reservoir of all of them.
const maxSamples = 200_000

// loginRoute names the login in the recorder; it is reported apart from calls.
const loginRoute = "login"

// recorder collects the outcome of every call of a run. Safe for concurrent use.
type recorder struct {
	mu     sync.Mutex
	routes map[string]*routeRec
	codes  map[string]int64
	rng    *rand.Rand

	loginsOK     atomic.Int64 // bots logged in at least once
	reconnects   atomic.Int64
	loginsPaced  atomic.Int64 // guest logins refused with RATE_LIMITED and retried
	sessionsLost atomic.Int64
	pushes       atomic.Int64
	calls        atomic.Int64
	errors       atomic.Int64
	online       atomic.Int64
	// serverMailRead and mailQuota: see Report.ServerMailRead and MailQuota.
	serverMailRead atomic.Int64
	mailQuota      atomic.Int64
	scene          sceneCounters // realtime play (realtime.go)

	// onNewCode, if set, is called (outside the lock) the first time a code fails.
	onNewCode func(route string, err error)
}

type routeRec struct {
	ok, err int64
	seen    int64
	samples []float64 // ms
}

func newRecorder(seed int64) *recorder {
	return &recorder{
		routes: make(map[string]*routeRec),
		codes:  make(map[string]int64),
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x5eed)),
	}
}

// observe records one call of route that took d and ended with err.
func (r *recorder) observe(route string, d time.Duration, err error) {
	r.calls.Add(1)
	if err != nil {
		r.errors.Add(1)
	}
	r.mu.Lock()
	rr := r.routes[route]
	if rr == nil {
		rr = &routeRec{}
		r.routes[route] = rr
	}
	first := false
	if err != nil {
		rr.err++
		name := codeName(gamemesh.CodeOf(err))
		first = r.codes[name] == 0
		r.codes[name]++
	} else {
		rr.ok++
		rr.seen++
		ms := float64(d) / float64(time.Millisecond)
		if len(rr.samples) < maxSamples {
			rr.samples = append(rr.samples, ms)
		} else if j := r.rng.Int64N(rr.seen); j < maxSamples {
			rr.samples[j] = ms
		}
	}
	r.mu.Unlock()
	if first && r.onNewCode != nil {
		r.onNewCode(route, err)
	}
}

// sessionLost records a session ended by the gate or the network mid-run.
func (r *recorder) sessionLost(err error) {
	r.sessionsLost.Add(1)
	r.errors.Add(1)
	r.mu.Lock()
	r.codes[codeName(gamemesh.CodeOf(err))]++
	r.mu.Unlock()
}

// report builds the Report of a run of players bots that lasted elapsed.
func (r *recorder) report(players int, elapsed time.Duration) Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := Report{
		Players:      players,
		DurationS:    Float(elapsed.Seconds()),
		LoginsOK:     r.loginsOK.Load(),
		Calls:        make(map[string]RouteStats, len(r.routes)),
		Errors:       r.errors.Load(),
		Pushes:       r.pushes.Load(),
		Reconnects:   r.reconnects.Load(),
		LoginsPaced:  r.loginsPaced.Load(),
		SessionsLost: r.sessionsLost.Load(),

		ServerMailRead: r.serverMailRead.Load(),
		MailQuota:      r.mailQuota.Load(),
	}
	for route, rr := range r.routes {
		s := slices.Clone(rr.samples)
		slices.Sort(s)
		st := RouteStats{OK: rr.ok, Err: rr.err, P50Ms: Float(percentile(s, 50)), P99Ms: Float(percentile(s, 99))}
		if route == loginRoute {
			rep.Login = st
			continue
		}
		rep.Calls[route] = st
	}
	if len(r.codes) > 0 {
		rep.ErrorCodes = make(map[string]int64, len(r.codes))
		for k, v := range r.codes {
			rep.ErrorCodes[k] = v
		}
	}
	return rep
}

func codeName(c gamemesh.Code) string { return strings.TrimPrefix(c.String(), "ERROR_CODE_") }
