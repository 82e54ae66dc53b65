package idip_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/guild"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/functions/login"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/functions/player"
	"github.com/gamemesh/gamemesh/gate"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/ticket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Secrets of these tests only.
var (
	testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")
	testToken  = "idip-test-token-0123456789abcdef-0123456789"
)

// bus is an in-test pub/sub: Publish hands the event at once to every
// handler subscribed to its topic (the gates' push topics).
type bus struct {
	mu        sync.Mutex
	subs      map[string][]gamemesh.EventHandler
	published []string // topics
	down      bool
}

func (b *bus) Subscribe(_ context.Context, s gamemesh.Subscription) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[string][]gamemesh.EventHandler{}
	}
	b.subs[s.Topic] = append(b.subs[s.Topic], s.Handler)
	return nil
}

func (b *bus) Publish(ctx context.Context, topic string, ev gamemesh.Event) error {
	b.mu.Lock()
	if b.down {
		b.mu.Unlock()
		return gamemesh.Errorf(gamemesh.CodeUnavailable, "bus down")
	}
	b.published = append(b.published, topic)
	hs := append([]gamemesh.EventHandler(nil), b.subs[topic]...)
	b.mu.Unlock()
	ev.Topic, ev.Attempt = topic, 1
	for _, h := range hs {
		if err := h(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

func (b *bus) setDown(d bool) { b.mu.Lock(); b.down = d; b.mu.Unlock() }

// memConfig is a ConfigStore in a map, with versions as the real ones keep them.
type memConfig struct {
	mu    sync.Mutex
	items map[string]gamemesh.ConfigItem
}

func (c *memConfig) Get(_ context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]gamemesh.ConfigItem{}
	for _, k := range keys {
		if it, ok := c.items[k]; ok {
			out[k] = it
		}
	}
	return out, nil
}

func (c *memConfig) Prefixed(_ context.Context, prefix string) (map[string]gamemesh.ConfigItem, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]gamemesh.ConfigItem{}
	for k, it := range c.items {
		if strings.HasPrefix(k, prefix) {
			out[k] = it
		}
	}
	return out, nil
}

func (c *memConfig) Set(_ context.Context, key, value string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[string]gamemesh.ConfigItem{}
	}
	v, _ := strconv.Atoi(c.items[key].Version)
	it := gamemesh.ConfigItem{Value: value, Version: strconv.Itoa(v + 1)}
	c.items[key] = it
	return it.Version, nil
}

func (c *memConfig) value(key string) gamemesh.ConfigItem {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.items[key]
}

// mailDouble stands in for the mail function's broadcast and grant
// (contract: proto/game/v1/mail.proto; the real handlers are another
// branch's work): idempotent by request id, recording what it was asked.
type mailDouble struct {
	mu         sync.Mutex
	calls      int
	broadcasts map[string]*gamev1.BroadcastMailRequest
	grants     map[string]*gamev1.GrantItemsRequest
	down       bool
}

func (d *mailDouble) register(reg *functions.Registry) {
	d.broadcasts, d.grants = map[string]*gamev1.BroadcastMailRequest{}, map[string]*gamev1.GrantItemsRequest{}
	reg.Handle("mail", "broadcast", functions.Method{Handler: functions.Typed(func() *gamev1.BroadcastMailRequest { return new(gamev1.BroadcastMailRequest) },
		func(_ context.Context, _ gamemesh.Request, in *gamev1.BroadcastMailRequest) (*gamev1.BroadcastMailResponse, error) {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.calls++
			if d.down {
				return nil, gamemesh.Errorf(gamemesh.CodeUnavailable, "mail store unavailable")
			}
			d.broadcasts[in.GetRequestId()] = in
			return &gamev1.BroadcastMailResponse{BroadcastId: "b-" + in.GetRequestId()}, nil
		})})
	reg.Handle("mail", "grant", functions.Method{Handler: functions.Typed(func() *gamev1.GrantItemsRequest { return new(gamev1.GrantItemsRequest) },
		func(_ context.Context, _ gamemesh.Request, in *gamev1.GrantItemsRequest) (*gamev1.GrantItemsResponse, error) {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.calls++
			if d.down {
				return nil, gamemesh.Errorf(gamemesh.CodeUnavailable, "mail store unavailable")
			}
			d.grants[in.GetRequestId()] = in
			return &gamev1.GrantItemsResponse{GrantId: "g-" + in.GetRequestId()}, nil
		})})
}

func (d *mailDouble) counts() (calls, broadcasts, grants int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls, len(d.broadcasts), len(d.grants)
}

// scriptsDouble is a Scripts recording pushes (the real one, over
// luavm.Publisher, is tested in internal/system).
type scriptsDouble struct {
	mu     sync.Mutex
	pushes []idip.ScriptGeneration
	files  [][]idip.ScriptFile
}

func (s *scriptsDouble) Push(_ context.Context, module string, files []idip.ScriptFile, by, source string) (idip.ScriptGeneration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.Contains(files[0].Source, "syntax error") {
		return idip.ScriptGeneration{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "push refused: %s line:1 near 'error'", files[0].Name)
	}
	g := idip.ScriptGeneration{Module: module, Number: len(s.pushes) + 1, Hash: fmt.Sprintf("%064d", len(s.pushes)+1), By: by, Source: source}
	s.pushes, s.files = append(s.pushes, g), append(s.files, files)
	return g, nil
}

func (s *scriptsDouble) History(_ context.Context, module string) (idip.ScriptHistory, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := idip.ScriptHistory{Module: module, Generations: s.pushes}
	if n := len(s.pushes); n > 0 {
		h.Active = s.pushes[n-1].Hash
	}
	return h, nil
}

func (s *scriptsDouble) Rollback(_ context.Context, module string, number int, by string) (idip.ScriptGeneration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.pushes {
		if g.Number == number {
			g.By = by
			return g, nil
		}
	}
	return idip.ScriptGeneration{}, gamemesh.Errorf(gamemesh.CodeNotFound, "script module %s has no such generation to roll back to", module)
}

func (s *scriptsDouble) Modules(context.Context) ([]string, error) {
	return []string{"achievement"}, nil
}

// flags is a Features double.
type flags struct {
	mu  sync.Mutex
	off map[string]bool
}

func (f *flags) Enabled(s string) bool { f.mu.Lock(); defer f.mu.Unlock(); return !f.off[s] }
func (f *flags) set(s string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.off == nil {
		f.off = map[string]bool{}
	}
	f.off[s] = !on
}

// world is the IDIP app over real login, player, mail (or the mail double)
// and guild apps on one registry, an in-memory online directory and roster,
// and real gates started on demand.
type world struct {
	t       *testing.T
	mem     *functionstest.MemStore
	store   *functionstest.FaultyStore // the IDIP app's
	reg     *functions.Registry
	dir     *directory.Memory
	bus     *bus
	roster  *directory.MemoryRoster
	config  *memConfig
	scripts *scriptsDouble
	mail    *mailDouble // nil with the real mail app
	flags   *flags
	app     *idip.App
	cli     *idip.Client
	ndev    int
}

type worldOpts struct {
	mailDouble bool
	cfg        func(*idip.Config)
}

func newWorld(t *testing.T, o worldOpts) *world {
	t.Helper()
	w := &world{t: t, mem: functionstest.NewMemStore(time.Now), reg: functions.NewRegistry(), dir: directory.NewMemory(), bus: &bus{},
		roster: directory.NewMemoryRoster(time.Hour), config: &memConfig{}, scripts: &scriptsDouble{}, flags: &flags{}}
	w.store = &functionstest.FaultyStore{Store: w.mem}
	inv := functionstest.Invoker{Registry: w.reg}
	pusher := directory.Pusher{Locator: w.dir, Publisher: w.bus}
	must := func(app interface{ Register(*functions.Registry) }, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		app.Register(w.reg)
	}
	must(login.New(login.Config{Secret: testSecret}, login.Deps{Store: w.mem}))
	must(player.New(player.Config{}, player.Deps{Store: w.mem, Invoker: inv}))
	must(guild.New(guild.Config{}, guild.Deps{Store: w.mem, Invoker: inv, Pusher: pusher}))
	if o.mailDouble {
		w.mail = &mailDouble{}
		w.mail.register(w.reg)
	} else {
		must(mail.New(mail.Config{}, mail.Deps{Store: w.mem, Invoker: inv, Publisher: w.bus, Pusher: pusher}))
	}
	w.reg.SetSpeechGuard(login.SpeechGuard{Invoker: inv}, login.SpeechRoutes()...)
	cfg := idip.Config{Addr: "127.0.0.1:0", Token: testToken, Node: "idip-test", WaitPending: 5 * time.Second}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	app, err := idip.New(cfg, idip.Deps{Store: w.store, Invoker: inv, Locator: w.dir, Publisher: w.bus, Roster: w.roster,
		Config: w.config, Scripts: w.scripts, Features: w.flags})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.app = app
	w.cli = &idip.Client{URL: app.URL(), Token: testToken, Operator: "alice", HTTP: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(func() {
		if err := stopWorld(w); err != nil {
			t.Errorf("idip stop: %v", err)
		}
	})
	return w
}

// stopWorld closes the client's connections and stops the app.
func stopWorld(w *world) error {
	w.cli.HTTP.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return w.app.Stop(ctx)
}

// newPlayer creates an account through login.guest and returns its id and
// device.
func (w *world) newPlayer() (gamemesh.PlayerID, string) {
	w.t.Helper()
	w.ndev++
	dev := fmt.Sprintf("idip-test-device-%04d", w.ndev)
	out, err := w.guest(dev)
	if err != nil {
		w.t.Fatal(err)
	}
	return gamemesh.PlayerID(out.PlayerId), dev
}

func (w *world) guest(device string) (*gamev1.GuestLoginResponse, error) {
	out := new(gamev1.GuestLoginResponse)
	err := functionstest.CallAs(context.Background(), w.reg, "", "", "login", "guest", &gamev1.GuestLoginRequest{DeviceId: device}, out)
	return out, err
}

// startGate starts a real gate with id on the shared directory and bus,
// announced in the roster.
func (w *world) startGate(id string) *gate.Gate {
	w.t.Helper()
	v, err := ticket.NewVerifier(testSecret)
	if err != nil {
		w.t.Fatal(err)
	}
	g, err := gate.New(gate.Config{ID: id, TCPAddr: "127.0.0.1:0", WSAddr: ""}, gate.Deps{
		Invoker: functionstest.Invoker{Registry: w.reg}, Tickets: v, Used: directory.Once{Store: w.mem, Prefix: "gate/used/"},
		Directory: w.dir, Subscriber: w.bus, Publisher: w.bus,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Stop(ctx)
	})
	w.announce(id, 0)
	return g
}

func (w *world) announce(id string, online int) {
	w.t.Helper()
	if err := w.roster.Announce(context.Background(), directory.Member{ID: id, Kind: directory.KindGate,
		Info: map[string]string{directory.InfoOnline: strconv.Itoa(online)}}); err != nil {
		w.t.Fatal(err)
	}
}

// pushes records a connection's pushes.
type pushes struct {
	mu  sync.Mutex
	got []*gamev1.Envelope
}

func (p *pushes) on(route string, body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, &gamev1.Envelope{Route: route, Body: body})
}

func (p *pushes) notices() []*gamev1.ServerNotice {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*gamev1.ServerNotice
	for _, e := range p.got {
		if e.Route == directory.NoticePushRoute {
			var n gamev1.ServerNotice
			if proto.Unmarshal(e.Body, &n) == nil {
				out = append(out, &n)
			}
		}
	}
	return out
}

// connect logs device in and connects it to g.
func (w *world) connect(g *gate.Gate, device string) (*client.Conn, *pushes) {
	w.t.Helper()
	out, err := w.guest(device)
	if err != nil {
		w.t.Fatal(err)
	}
	p := &pushes{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "tcp://"+g.Addr(), out.Ticket, client.Options{OnPush: p.on})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = c.Close() })
	return c, p
}

// post sends a raw JSON body to command and returns the status and the answer.
func (w *world) post(command string, body any) (int, idip.Answer, http.Header) {
	w.t.Helper()
	var data []byte
	switch b := body.(type) {
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			w.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, w.app.URL()+idip.Path(command), strings.NewReader(string(data)))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	return w.send(req)
}

func (w *world) send(req *http.Request) (int, idip.Answer, http.Header) {
	w.t.Helper()
	resp, err := w.cli.HTTP.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var ans idip.Answer
	if err := json.Unmarshal(raw, &ans); err != nil {
		w.t.Fatalf("answer is not JSON: %q", raw)
	}
	return resp.StatusCode, ans, resp.Header
}

// rawPost returns the exact answer bytes of a POST.
func (w *world) rawPost(command string, body any) (int, []byte, http.Header) {
	w.t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, w.app.URL()+idip.Path(command), strings.NewReader(string(data)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := w.cli.HTTP.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp.Header
}

// snapshot is the store without the audit log (which every call appends to).
func (w *world) snapshot() map[string]string {
	out := w.mem.Snapshot()
	for k := range out {
		if strings.HasPrefix(k, "idip/audit/") {
			delete(out, k)
		}
	}
	return out
}

// audit returns the audit entries matching q.
func (w *world) audit(q map[string]string) []idip.AuditEntry {
	w.t.Helper()
	v := make(map[string][]string)
	for k, s := range q {
		v[k] = []string{s}
	}
	var res idip.AuditResult
	if _, err := w.cli.Get(context.Background(), "audit", v, &res); err != nil {
		w.t.Fatal(err)
	}
	return res.Entries
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
