package functions

import (
	"context"
	"fmt"
	"strings"

	"github.com/gamemesh/gamemesh"
)

// SpeechGuard says whether a player may speak to other players now (an
// operator may have muted it). CheckSpeech returns nil to let the call run,
// or the error to answer instead (MUTED). It is called on every guarded call
// and must be safe for concurrent use.
type SpeechGuard interface {
	CheckSpeech(ctx context.Context, player gamemesh.PlayerID) error
}

// speechRef boxes a guard and the routes it covers for the atomic pointer.
type speechRef struct {
	g      SpeechGuard
	routes map[string]bool // "app.method", or "app.*" for every method of app
}

func (s *speechRef) covers(app, method string) bool {
	return s.routes[app+".*"] || s.routes[app+"."+method]
}

// SetSpeechGuard makes Call ask g before it runs one of routes on behalf of
// a player (req.Player set): the routes where a player speaks to others
// (player mail, guild notices, chat). Service calls (req.Player empty, e.g.
// an operator's mail) are not guarded. A route is "app.method" or "app.*"
// for every method of an app, including ones registered later. nil g turns
// the check off. It panics on a malformed route: it is wiring.
func (r *Registry) SetSpeechGuard(g SpeechGuard, routes ...string) {
	if g == nil {
		r.speech.Store(nil)
		return
	}
	ref := &speechRef{g: g, routes: make(map[string]bool, len(routes))}
	for _, route := range routes {
		app, method, ok := strings.Cut(route, ".")
		if method == "*" {
			_, _, ok = gamemesh.Route(app + ".x").Split()
		} else {
			_, _, ok = gamemesh.Route(route).Split()
		}
		if !ok {
			panic(fmt.Sprintf("functions: invalid speech route %q", route))
		}
		ref.routes[route] = true
	}
	r.speech.Store(ref)
}

// checkSpeech runs the speech guard for req, if one covers its route.
func (r *Registry) checkSpeech(ctx context.Context, req gamemesh.Request) error {
	if req.Player == "" {
		return nil
	}
	ref := r.speech.Load()
	if ref == nil || !ref.covers(req.App, req.Method) {
		return nil
	}
	return ref.g.CheckSpeech(ctx, req.Player)
}
