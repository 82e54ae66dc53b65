package bots

import (
	"encoding/json"
	"math"
	"strconv"
)

// Report is the outcome of a run. Its JSON form starts with players,
// duration_s, logins_ok, calls and errors, in that order.
type Report struct {
	// Players is the number of bots of the run.
	Players int `json:"players"`
	// DurationS is the wall time of the run, in seconds.
	DurationS Float `json:"duration_s"`
	// LoginsOK is the number of bots that logged in at least once.
	LoginsOK int64 `json:"logins_ok"`
	// Calls holds the statistics of each route called.
	Calls map[string]RouteStats `json:"calls"`
	// Errors is every failure: failed login attempts, failed calls, sessions
	// lost mid-run.
	Errors int64 `json:"errors"`
	// Pushes is the number of "mail.new" pushes the bots received.
	Pushes int64 `json:"pushes"`
	// Login is the statistics of the login (guest login plus gate login).
	Login RouteStats `json:"login"`
	// Reconnects is the number of logins after a bot's first.
	Reconnects int64 `json:"reconnects"`
	// LoginsPaced counts guest logins the gate's rate limit deferred (retried,
	// not errors); omitted when zero.
	LoginsPaced int64 `json:"logins_paced,omitempty"`
	// SessionsLost is the number of sessions the gate or the network ended mid-run.
	SessionsLost int64 `json:"sessions_lost"`
	// ErrorCodes counts failures by code name (ALREADY_DONE, RATE_LIMITED...).
	ErrorCodes map[string]int64 `json:"error_codes,omitempty"`
	// ServerMailRead counts server-wide mails (broadcasts) the bots read;
	// omitted when zero (no broadcast was live).
	ServerMailRead int64 `json:"server_mail_read,omitempty"`
	// MailQuota counts sends the mail quotas refused (RATE_LIMITED or
	// LIMIT_REACHED: expected answers, counted as ok in calls); omitted when zero.
	MailQuota int64 `json:"mail_quota,omitempty"`
	// Scene is the realtime play (realtime.go); omitted when it is off.
	Scene *SceneStats `json:"scene,omitempty"`
}

// RouteStats is the statistics of one route. Latency percentiles are over the
// successful calls.
type RouteStats struct {
	OK    int64 `json:"ok"`
	Err   int64 `json:"err"`
	P50Ms Float `json:"p50_ms"`
	P99Ms Float `json:"p99_ms"`
}

// JSON returns r as one line of JSON, without a trailing newline.
func (r Report) JSON() []byte {
	if r.Calls == nil {
		r.Calls = map[string]RouteStats{}
	}
	b, err := json.Marshal(r)
	if err != nil { // cannot happen: every field is a plain value
		return []byte(`{"error":` + strconv.Quote(err.Error()) + `}`)
	}
	return b
}

// Float is a float64 that marshals to JSON rounded to three decimals and
// always with a decimal point (30 → 30.0).
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("0.0"), nil
	}
	v = math.Round(v*1000) / 1000
	b := strconv.AppendFloat(nil, v, 'f', -1, 64)
	for _, c := range b {
		if c == '.' {
			return b, nil
		}
	}
	return append(b, '.', '0'), nil
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method, 0 for no samples.
func percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	return sorted[min(max(rank, 1), n)-1]
}
