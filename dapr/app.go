package dapr

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	commonv1pb "github.com/dapr/dapr/pkg/proto/common/v1"
	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// AppOptions configure an App.
type AppOptions struct {
	// Registry holds the functions served as "app.method" and the
	// subscriptions declared to the sidecar. Nil serves no function (an app
	// that only subscribes, like a gate's push topic).
	Registry *functions.Registry
	// Listener is the app channel's listener; nil means listening on Address.
	Listener net.Listener
	// Address is the listen address when Listener is nil; default
	// "127.0.0.1:0" (loopback: only the local sidecar should reach the app).
	Address string
	// PubSub names the pub/sub component subscriptions are declared on.
	PubSub string
	// AppToken, when set, must be presented (dapr-api-token) on every
	// invocation; daprd sends it when it runs with APP_API_TOKEN. daprd 1.14
	// does not send it on pub/sub deliveries (see the package doc).
	AppToken string
	// BackendRetryDelay is the delay of the sidecar's inbound pub/sub retry
	// policy (sidecar-config/resiliency); a subscription whose RetryDelay is
	// longer waits for the difference before asking for a redelivery.
	// Default gamemesh.DefaultRetryDelay.
	BackendRetryDelay time.Duration
	// EventTimeout bounds one delivery to the handlers. Default 30 s.
	EventTimeout time.Duration
	// CallTimeout is the function timeout of the callers' sidecars
	// (sidecar-config/resiliency, "function: 300ms"): a handler never runs
	// longer than the time its caller has left and this, less a margin, so
	// it answers in-band before the caller's sidecar times the call out.
	// Default gamemesh.DefaultDeadline.
	CallTimeout time.Duration
	// Logger receives the app's logs; nil means slog.Default().
	Logger *slog.Logger
}

// App serves a functions.Registry as a Dapr app over the gRPC app channel
// (daprd --app-protocol grpc --app-port <Port>). Every registered method is
// reachable as "app.method" through Registry.Call; every subscription is
// declared to the sidecar with DeadLetterTopic(topic) as dead-letter topic.
// Start it before its sidecar: daprd reads the subscriptions once, at start.
type App struct {
	runtimev1pb.UnimplementedAppCallbackServer
	runtimev1pb.UnimplementedAppCallbackHealthCheckServer

	reg          *functions.Registry
	pubsub       string
	token        []byte
	backendDelay time.Duration
	eventTimeout time.Duration
	callTimeout  time.Duration
	log          *slog.Logger
	lis          net.Listener
	srv          *grpc.Server
	attempts     *attemptTracker

	mu       sync.Mutex
	started  bool // Start (or Stop) was called: no more subscriptions
	serving  bool // Serve runs (done closes when it returns)
	stopped  bool
	topics   map[string][]gamemesh.Subscription
	done     chan struct{}
	serveErr error
}

var _ gamemesh.Subscriber = (*App)(nil)

// NewApp listens for the sidecar and prepares the server; it serves nothing
// until Start.
func NewApp(opts AppOptions) (*App, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.BackendRetryDelay <= 0 {
		opts.BackendRetryDelay = gamemesh.DefaultRetryDelay
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = gamemesh.DefaultDeadline
	}
	if opts.EventTimeout <= 0 {
		opts.EventTimeout = 30 * time.Second
	}
	lis := opts.Listener
	if lis == nil {
		addr := opts.Address
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		var err error
		if lis, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("dapr app: listening on %s: %w", addr, err)
		}
	}
	a := &App{
		reg:          opts.Registry,
		pubsub:       opts.PubSub,
		backendDelay: opts.BackendRetryDelay,
		eventTimeout: opts.EventTimeout,
		callTimeout:  opts.CallTimeout,
		log:          log.With("component", "dapr-app", "addr", lis.Addr().String()),
		lis:          lis,
		attempts:     newAttemptTracker(10 * time.Minute),
		topics:       map[string][]gamemesh.Subscription{},
		done:         make(chan struct{}),
	}
	if opts.AppToken != "" {
		a.token = []byte(opts.AppToken)
	}
	if a.reg != nil {
		for _, s := range a.reg.Subscriptions() {
			if err := a.addSubscription(s); err != nil {
				lis.Close()
				return nil, err
			}
		}
	}
	a.srv = grpc.NewServer()
	runtimev1pb.RegisterAppCallbackServer(a.srv, a)
	runtimev1pb.RegisterAppCallbackHealthCheckServer(a.srv, a)
	return a, nil
}

// Addr is the address the sidecar must call (its --app-port is Addr's port).
func (a *App) Addr() net.Addr { return a.lis.Addr() }

// Port is the TCP port of Addr.
func (a *App) Port() int {
	if ta, ok := a.lis.Addr().(*net.TCPAddr); ok {
		return ta.Port
	}
	return 0
}

// Subscribe adds a subscription; it must be called before Start.
func (a *App) Subscribe(_ context.Context, s gamemesh.Subscription) error {
	return a.addSubscription(s)
}

func (a *App) addSubscription(s gamemesh.Subscription) error {
	if s.Topic == "" || s.Handler == nil {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "subscription needs a topic and a handler")
	}
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = gamemesh.DefaultMaxAttempts
	}
	if s.RetryDelay <= 0 {
		s.RetryDelay = gamemesh.DefaultRetryDelay
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return gamemesh.Errorf(gamemesh.CodeInternal, "subscription to %s added after the app started: the sidecar reads subscriptions once", s.Topic)
	}
	if a.pubsub == "" {
		return gamemesh.Errorf(gamemesh.CodeInternal, "subscription to %s needs AppOptions.PubSub", s.Topic)
	}
	a.topics[s.Topic] = append(a.topics[s.Topic], s)
	return nil
}

// Start serves the app channel in a goroutine owned by the App.
func (a *App) Start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return errors.New("dapr app: already started or stopped")
	}
	a.started, a.serving = true, true
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(a.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			a.log.Error("app channel stopped", "err", err)
			a.mu.Lock()
			a.serveErr = err
			a.mu.Unlock()
		}
	}()
	a.log.Info("dapr app serving", "apps", a.appNames(), "topics", len(a.topics))
	return nil
}

// Stop stops serving: in-flight calls finish until ctx is done, then the
// remaining ones are cut. Stop without Start closes the listener.
func (a *App) Stop(ctx context.Context) error {
	a.mu.Lock()
	serving, stopped := a.serving, a.stopped
	a.started, a.stopped = true, true // no Start after Stop
	a.mu.Unlock()
	switch {
	case stopped:
		return nil
	case !serving:
		return a.lis.Close()
	}
	graceful := make(chan struct{})
	go func() {
		a.srv.GracefulStop()
		close(graceful)
	}()
	select {
	case <-graceful:
	case <-ctx.Done():
		a.srv.Stop()
		<-graceful
	}
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.serveErr
}

func (a *App) appNames() []string {
	if a.reg == nil {
		return nil
	}
	return a.reg.Apps()
}

// OnInvoke serves one function call from the sidecar. The answer is always a
// result envelope (see envelope.go), so daprd sees a function's error as a
// successful call and its resiliency policy does not retry it.
func (a *App) OnInvoke(ctx context.Context, in *commonv1pb.InvokeRequest) (*commonv1pb.InvokeResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	body, err := a.invoke(ctx, md, in)
	return &commonv1pb.InvokeResponse{
		ContentType: resultContentType,
		Data:        &anypb.Any{TypeUrl: bodyTypeURL, Value: encodeResult(body, err)},
	}, nil
}

func (a *App) invoke(ctx context.Context, md metadata.MD, in *commonv1pb.InvokeRequest) (body []byte, err error) {
	if a.token != nil && subtle.ConstantTimeCompare([]byte(first(md, tokenHeader)), a.token) != 1 {
		a.log.Warn("invocation refused: app token missing or wrong", "method", in.GetMethod())
		return nil, gamemesh.Errorf(gamemesh.CodePermissionDenied, "permission denied")
	}
	app, method, ok := gamemesh.Route(in.GetMethod()).Split()
	if !ok || a.reg == nil {
		return nil, gamemesh.Errorf(gamemesh.CodeUnknownRoute, "unknown route %.64q", in.GetMethod())
	}
	req := gamemesh.Request{
		App:    app,
		Method: method,
		Player: gamemesh.PlayerID(first(md, mdPlayer)),
		ID:     first(md, mdRequestID),
		Body:   in.GetData().GetValue(),
	}
	if req.Player != "" && !req.Player.Valid() {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "malformed player id")
	}
	timeout := a.callTimeout
	if d, ok := parseDeadline(first(md, mdDeadline)); ok {
		timeout = min(time.Until(d), timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, handlerTimeout(timeout))
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("function panicked", "route", in.GetMethod(), "panic", r)
			body, err = nil, gamemesh.Errorf(gamemesh.CodeInternal, "internal error")
		}
	}()
	body, err = a.reg.Call(ctx, req)
	if err != nil && gamemesh.CodeOf(err) == gamemesh.CodeInternal {
		a.log.Warn("function failed", "route", in.GetMethod(), "request", req.ID, "err", err)
	}
	return body, err
}

// ListTopicSubscriptions declares the subscriptions, each with its
// dead-letter topic. daprd calls it once, when it starts.
func (a *App) ListTopicSubscriptions(context.Context, *emptypb.Empty) (*runtimev1pb.ListTopicSubscriptionsResponse, error) {
	a.mu.Lock()
	topics := make([]string, 0, len(a.topics))
	for t := range a.topics {
		topics = append(topics, t)
	}
	a.mu.Unlock()
	sort.Strings(topics)
	out := &runtimev1pb.ListTopicSubscriptionsResponse{}
	for _, t := range topics {
		out.Subscriptions = append(out.Subscriptions, &runtimev1pb.TopicSubscription{
			PubsubName:      a.pubsub,
			Topic:           t,
			DeadLetterTopic: gamemesh.DeadLetterTopic(t),
		})
	}
	return out, nil
}

// HealthCheck answers the sidecar's app health probe.
func (a *App) HealthCheck(context.Context, *emptypb.Empty) (*runtimev1pb.HealthCheckResponse, error) {
	return &runtimev1pb.HealthCheckResponse{}, nil
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}
