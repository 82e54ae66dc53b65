package gate

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// ipKey is a client address (IPv4-mapped IPv6 addresses unmapped).
type ipKey = netip.Addr

// ipSweepEvery is how often idle per-IP entries are forgotten.
const ipSweepEvery = time.Minute

// ipLimits bounds what one address may do before its connections log in:
// how many of them may be unauthenticated at once (a slowloris or a pile of
// half-open sockets from one host cannot fill the gate), how fast it may
// open connections, and how fast it may ask for guest tickets. An address
// is tracked only while it has unauthenticated connections or recent
// activity; idle entries are swept.
type ipLimits struct {
	maxPending          int
	connRate, guestRate rate.Limit
	connBurst, gBurst   int

	mu        sync.Mutex
	m         map[ipKey]*ipEntry
	lastSweep time.Time
}

type ipEntry struct {
	pending int
	conns   *rate.Limiter
	guest   *rate.Limiter
	seen    time.Time
}

func newIPLimits(cfg Config) *ipLimits {
	return &ipLimits{
		maxPending: cfg.MaxPendingPerIP,
		connRate:   rate.Limit(cfg.ConnectRatePerIP), connBurst: cfg.ConnectBurstPerIP,
		guestRate: rate.Limit(cfg.GuestRatePerIP), gBurst: cfg.GuestBurstPerIP,
		m: make(map[ipKey]*ipEntry), lastSweep: time.Now(),
	}
}

// entry returns ip's entry, sweeping idle ones now and then; l.mu held.
func (l *ipLimits) entry(ip ipKey, now time.Time) *ipEntry {
	if now.Sub(l.lastSweep) > ipSweepEvery {
		l.lastSweep = now
		for k, e := range l.m {
			if e.pending == 0 && now.Sub(e.seen) > ipSweepEvery {
				delete(l.m, k)
			}
		}
	}
	e := l.m[ip]
	if e == nil {
		e = &ipEntry{conns: rate.NewLimiter(l.connRate, l.connBurst)}
		l.m[ip] = e
	}
	e.seen = now
	return e
}

// acquire counts a new unauthenticated connection from ip, or says why it
// is refused.
func (l *ipLimits) acquire(ip ipKey) (string, bool) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(ip, now)
	if e.pending >= l.maxPending {
		return fmt.Sprintf("too many connections from your address waiting to log in (at most %d)", l.maxPending), false
	}
	if !e.conns.AllowN(now, 1) {
		return fmt.Sprintf("connecting too fast from your address (at most %g per second)", float64(l.connRate)), false
	}
	e.pending++
	return "", true
}

// release uncounts a connection of ip that logged in or closed.
func (l *ipLimits) release(ip ipKey) {
	l.mu.Lock()
	if e := l.m[ip]; e != nil && e.pending > 0 {
		e.pending--
	}
	l.mu.Unlock()
}

// allowGuest reports whether ip may ask for a guest ticket now.
func (l *ipLimits) allowGuest(ip ipKey) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(ip, now)
	if e.guest == nil {
		e.guest = rate.NewLimiter(l.guestRate, l.gBurst)
	}
	return e.guest.AllowN(now, 1)
}

// pending is how many unauthenticated connections ip has.
func (l *ipLimits) pending(ip ipKey) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.m[ip]; e != nil {
		return e.pending
	}
	return 0
}

// stop forgets every address (the gate is stopping).
func (l *ipLimits) stop() {
	l.mu.Lock()
	clear(l.m)
	l.mu.Unlock()
}

// ipDone releases l's place among its address's unauthenticated connections.
func (g *Gate) ipDone(l *link) {
	if l.ipHeld {
		l.ipHeld = false
		g.ips.release(l.ip)
	}
}

// refuseTCP answers a TCP connection refused by the per-IP limits with a
// KICK (RATE_LIMITED) and closes it, without waiting for the client.
func (g *Gate) refuseTCP(c net.Conn, why string) {
	g.m.kick(gamemesh.CodeRateLimited)
	if g.cfg.TLS == nil {
		frame, _ := wire.Append(nil, &gamev1.Envelope{Kind: gamev1.Kind_KIND_KICK, Seq: 1, Code: gamemesh.CodeRateLimited, Error: why})
		_ = c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		_, _ = c.Write(frame)
	}
	_ = c.Close()
}

func ipOf(a net.Addr) ipKey {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return ipOfString(a.String())
}

func ipOfString(s string) ipKey {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(s)
	return a.Unmap()
}

// remoteOf is l's client address for logs.
func remoteOf(l *link) string {
	if a := l.t.raw().RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}
