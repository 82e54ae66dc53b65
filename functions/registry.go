package functions

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/gamemesh/gamemesh"
)

// Handler serves one method of a function app. It returns the marshalled
// response or an error; errors that are not *gamemesh.Error reach the client as
// INTERNAL.
type Handler func(ctx context.Context, req gamemesh.Request) ([]byte, error)

// Method describes one handler of an app.
type Method struct {
	Handler Handler
	// Public methods may be called by clients through a gate; the others are for
	// services (other functions, operators) only.
	Public bool
	// MaxBody is the largest request body accepted, in bytes; 0 means DefaultMaxBody.
	MaxBody int
}

// DefaultMaxBody is the request body limit of a method that sets none.
const DefaultMaxBody = 16 << 10

// Features says whether an app (a system) is switched on; *feature.Flags
// implements it. Enabled is called on every Call: it must be cheap and safe
// for concurrent use.
type Features interface {
	Enabled(app string) bool
}

// Registry holds the function apps a process serves. It is safe for
// concurrent use; registration normally happens once, before serving.
type Registry struct {
	mu       sync.RWMutex
	apps     map[string]map[string]Method
	subs     []gamemesh.Subscription
	features atomic.Pointer[featuresRef] // nil: every app is on
	speech   atomic.Pointer[speechRef]   // nil: nobody is muted
}

// featuresRef boxes a Features for the atomic pointer.
type featuresRef struct{ f Features }

// SetFeatures makes Call refuse the methods of switched-off apps with
// FEATURE_DISABLED (defence in depth: gates refuse first). nil turns the check
// off. It is safe to call at any time.
func (r *Registry) SetFeatures(f Features) {
	if f == nil {
		r.features.Store(nil)
		return
	}
	r.features.Store(&featuresRef{f: f})
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{apps: make(map[string]map[string]Method)}
}

// Handle registers m as app.method. It panics on a duplicate or an invalid
// name: registration is wiring, and wiring mistakes must fail at start.
func (r *Registry) Handle(app, method string, m Method) {
	if _, _, ok := gamemesh.Route(app + "." + method).Split(); !ok {
		panic(fmt.Sprintf("functions: invalid route %q", app+"."+method))
	}
	if m.Handler == nil {
		panic(fmt.Sprintf("functions: nil handler for %s.%s", app, method))
	}
	if m.MaxBody <= 0 {
		m.MaxBody = DefaultMaxBody
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	methods := r.apps[app]
	if methods == nil {
		methods = make(map[string]Method)
		r.apps[app] = methods
	}
	if _, dup := methods[method]; dup {
		panic(fmt.Sprintf("functions: %s.%s registered twice", app, method))
	}
	methods[method] = m
}

// Subscribe registers a topic subscription; s.Group defaults to app.
func (r *Registry) Subscribe(app string, s gamemesh.Subscription) {
	if s.Topic == "" || s.Handler == nil {
		panic(fmt.Sprintf("functions: invalid subscription %+v for app %s", s, app))
	}
	if s.Group == "" {
		s.Group = app
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = append(r.subs, s)
}

// Lookup returns the method registered as app.method.
func (r *Registry) Lookup(app, method string) (Method, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	m, ok := r.apps[app][method]
	return m, ok
}

// Apps returns the names of the registered apps, sorted.
func (r *Registry) Apps() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.apps))
	for a := range r.apps {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Methods returns the method names of app, sorted.
func (r *Registry) Methods(app string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.apps[app]))
	for m := range r.apps[app] {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Subscriptions returns a copy of the registered subscriptions.
func (r *Registry) Subscriptions() []gamemesh.Subscription {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]gamemesh.Subscription(nil), r.subs...)
}

// Call runs app.method on req with the registry's checks: unknown routes,
// private methods called by a player, methods of a switched-off app (see
// SetFeatures), oversize bodies and speech routes called by a muted player
// (see SetSpeechGuard) are refused with a clear error before the handler
// runs. Transports (embedded Invoker, Dapr app
// server) call it so that every transport applies the same rules.
func (r *Registry) Call(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	m, ok := r.Lookup(req.App, req.Method)
	if !ok {
		return nil, gamemesh.Errorf(gamemesh.CodeUnknownRoute, "unknown route %s.%s", req.App, req.Method)
	}
	if req.Player != "" && !m.Public {
		return nil, gamemesh.Errorf(gamemesh.CodeUnknownRoute, "unknown route %s.%s", req.App, req.Method)
	}
	if fr := r.features.Load(); fr != nil && !fr.f.Enabled(req.App) {
		return nil, gamemesh.Errorf(gamemesh.CodeFeatureDisabled, "%s is switched off", req.App)
	}
	if len(req.Body) > m.MaxBody {
		return nil, gamemesh.Errorf(gamemesh.CodeBodyTooLarge, "body of %d bytes exceeds %d for %s.%s", len(req.Body), m.MaxBody, req.App, req.Method)
	}
	if err := r.checkSpeech(ctx, req); err != nil {
		return nil, err
	}
	return m.Handler(ctx, req)
}
