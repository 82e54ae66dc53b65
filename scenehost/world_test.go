package scenehost_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/achievement"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/guild"
	"github.com/gamemesh/gamemesh/functions/login"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/functions/player"
	"github.com/gamemesh/gamemesh/gate"
	"github.com/gamemesh/gamemesh/luavm"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
	"github.com/gamemesh/gamemesh/scenehost"
	"github.com/gamemesh/gamemesh/ticket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testSecret = []byte("0123456789abcdef0123456789abcdef-scenehost-test")

// bus is an in-test pub/sub: every subscription of a topic gets each event,
// asynchronously, retried (same id) while its handler fails.
type bus struct {
	mu     sync.Mutex
	subs   map[string][]gamemesh.Subscription
	events []gamemesh.Event
	wg     sync.WaitGroup
	closed bool
}

func (b *bus) Subscribe(_ context.Context, s gamemesh.Subscription) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[string][]gamemesh.Subscription{}
	}
	b.subs[s.Topic] = append(b.subs[s.Topic], s)
	return nil
}

func (b *bus) Publish(_ context.Context, topic string, ev gamemesh.Event) error {
	ev.Topic = topic
	b.mu.Lock()
	b.events = append(b.events, ev)
	subs := append([]gamemesh.Subscription(nil), b.subs[topic]...)
	if b.closed {
		subs = nil
	}
	for _, s := range subs {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			for attempt := 1; attempt <= 50; attempt++ {
				ev.Attempt = attempt
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				err := s.Handler(ctx, ev)
				cancel()
				if err == nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	b.mu.Unlock()
	return nil
}

func (b *bus) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.wg.Wait()
}

// topic returns the events published on topic.
func (b *bus) topic(name string) []gamemesh.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []gamemesh.Event
	for _, ev := range b.events {
		if ev.Topic == name {
			out = append(out, ev)
		}
	}
	return out
}

// world is a gate, login/mail/player apps on an in-memory store, and scene hosts.
type world struct {
	t      testing.TB
	reg    *functions.Registry
	mem    *functionstest.MemStore
	store  *functionstest.FaultyStore // under the player app
	bus    *bus
	inv    gamemesh.Invoker
	scenes *directory.MemoryScenes
	roster *directory.MemoryRoster
	gate   *gate.Gate
	flags  *switches
	hosts  map[string]*hostRun
	ndev   atomic.Int32
	lua    *luavm.Pool // combat and achievement rules
}

type hostRun struct {
	h   *scenehost.Host
	ann *directory.Announcer
}

// switches are in-test feature switches (all on).
type switches struct {
	mu  sync.Mutex
	off map[string]bool
}

func (s *switches) Enabled(system string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.off[system]
}

func (s *switches) set(system string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.off[system] = !on
}

func newWorld(t testing.TB) *world {
	t.Helper()
	mem := functionstest.NewMemStore(nil)
	w := &world{t: t, reg: functions.NewRegistry(), mem: mem, store: &functionstest.FaultyStore{Store: mem}, bus: &bus{},
		scenes: directory.NewMemoryScenes(), roster: directory.NewMemoryRoster(0), flags: &switches{off: map[string]bool{}},
		hosts: map[string]*hostRun{}}
	w.inv = functionstest.Invoker{Registry: w.reg}
	la, err := login.New(login.Config{Secret: testSecret}, login.Deps{Store: mem})
	must(t, err)
	ma, err := mail.New(mail.Config{}, mail.Deps{Store: mem, Invoker: w.inv, Publisher: w.bus})
	must(t, err)
	pa, err := player.New(player.Config{}, player.Deps{Store: w.store, Invoker: w.inv, Publisher: w.bus})
	must(t, err)
	w.lua = luaPool(t)
	dir := directory.NewMemory()
	pusher := directory.Pusher{Locator: dir, Publisher: w.bus}
	ga, err := guild.New(guild.Config{}, guild.Deps{Store: mem, Invoker: w.inv, Pusher: pusher})
	must(t, err)
	aa, err := achievement.New(achievement.Config{}, achievement.Deps{Store: mem, Invoker: w.inv, Rules: poolRules{w.lua}, Pusher: pusher})
	must(t, err)
	for _, app := range []interface{ Register(*functions.Registry) }{la, ma, pa, ga, aa} {
		app.Register(w.reg)
	}
	for _, s := range w.reg.Subscriptions() {
		must(t, w.bus.Subscribe(context.Background(), s))
	}
	verifier, err := ticket.NewVerifier(testSecret)
	must(t, err)
	w.gate, err = gate.New(gate.Config{ID: "gate-1", TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0"}, gate.Deps{
		Invoker: w.inv, Tickets: verifier, Used: directory.Once{Store: mem, Prefix: "used/"}, Directory: dir,
		Subscriber: w.bus, Features: w.flags, Scenes: directory.SceneLocator{Scenes: w.scenes, Roster: w.roster},
	})
	must(t, err)
	must(t, w.gate.Start(context.Background()))
	t.Cleanup(w.stop)
	return w
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// hostConfig is a fast-flushing host for tests.
func hostConfig(id string, static ...string) scenehost.Config {
	cfg := scenehost.Config{ID: id, ClaimTTL: 600 * time.Millisecond, InstanceGrace: 300 * time.Millisecond}
	if static != nil {
		cfg.Static = static
	}
	return cfg
}

// addHost starts a scene host announced in the roster with its load.
func (w *world) addHost(cfg scenehost.Config, flush time.Duration) *scenehost.Host {
	w.t.Helper()
	h, err := scenehost.New(cfg, scenehost.Deps{
		Invoker: w.inv, Publisher: w.bus, Subscriber: w.bus, Directory: w.scenes, Roster: w.roster, Features: w.flags,
		FlushInterval: func() time.Duration { return flush }, Rules: scenehost.LuaRules{Call: poolFunc(w.lua)},
	})
	must(w.t, err)
	must(w.t, h.Start(context.Background()))
	ann := &directory.Announcer{Roster: w.roster, Member: directory.Member{ID: cfg.ID, Kind: directory.KindScene, Addr: h.Addr()},
		Interval: 100 * time.Millisecond,
		Report:   func() map[string]string { return map[string]string{directory.InfoLoad: strconv.Itoa(h.Load())} }}
	must(w.t, ann.Start(context.Background()))
	w.hosts[cfg.ID] = &hostRun{h: h, ann: ann}
	return h
}

// kill stops host id as kill -9 would (no flush) and takes it out of the roster.
func (w *world) kill(id string) {
	hr := w.hosts[id]
	_ = hr.ann.Stop(context.Background())
	hr.h.Kill()
	delete(w.hosts, id)
}

func (w *world) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = w.gate.Stop(ctx)
	for _, hr := range w.hosts {
		_ = hr.ann.Stop(ctx)
		_ = hr.h.Stop(ctx)
	}
	w.bus.close()
}

// tplayer is a test client with its scene view.
type tplayer struct {
	t      testing.TB
	conn   *client.Conn
	id     gamemesh.PlayerID
	pushes chan push
	view   *scene.View
}

type push struct {
	route string
	body  []byte
}

func (w *world) login(device string) *tplayer {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tk, err := client.GuestLoginWith(ctx, http.DefaultClient, "http://"+w.gate.HTTPAddr(), device)
	must(w.t, err)
	p := &tplayer{t: w.t, pushes: make(chan push, 1<<14)}
	p.conn, err = client.Dial(ctx, "tcp://"+w.gate.Addr(), tk.Ticket, client.Options{PushBuffer: 1 << 14, OnPush: func(route string, body []byte) {
		select {
		case p.pushes <- push{route, body}:
		default:
			panic("test push buffer full")
		}
	}})
	must(w.t, err)
	p.id = p.conn.PlayerID()
	w.t.Cleanup(func() { _ = p.conn.Close() })
	return p
}

func (w *world) newPlayer() *tplayer {
	return w.login(fmt.Sprintf("device-%s-%d", w.t.Name(), w.ndev.Add(1)))
}

// await reads pushes until cond holds on the view (scene.enter starts a new
// view); it fails the test after 10 s.
func (p *tplayer) await(what string, cond func(p *tplayer, route string) bool) {
	p.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ps := <-p.pushes:
			switch ps.route {
			case scenehost.PushEnter:
				var info gamev1.SceneInfo
				must(p.t, proto.Unmarshal(ps.body, &info))
				p.view = scene.NewView(&info)
			case scenehost.PushUpdate:
				var u gamev1.SceneUpdate
				must(p.t, proto.Unmarshal(ps.body, &u))
				if p.view != nil {
					p.view.Apply(&u)
				}
			}
			if cond(p, ps.route) {
				return
			}
		case <-deadline:
			p.t.Fatalf("%s: timed out waiting for %s", p.id, what)
		}
	}
}

// enter waits for the scene.enter of scene (a prefix of its id) and the first update.
func (p *tplayer) enter(prefix string) {
	p.t.Helper()
	p.await("entering "+prefix, func(p *tplayer, _ string) bool {
		return p.view != nil && len(p.view.Info.SceneId) >= len(prefix) && p.view.Info.SceneId[:len(prefix)] == prefix && p.view.Me() != nil
	})
}

func (p *tplayer) call(route string, in, out proto.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out == nil {
		out = new(gamev1.SceneAck)
	}
	return p.conn.Call(ctx, route, in, out)
}

func (p *tplayer) move(x, y float32) error {
	return p.call("scene.move", &gamev1.MoveRequest{X: x, Y: y}, nil)
}

// walkTo moves toward (x, y) in steps until the view shows it there.
func (p *tplayer) walkTo(x, y float32) {
	p.t.Helper()
	for range 200 {
		me := p.view.Me()
		mx, my := p.view.Metres(me)
		dx, dy := x-mx, y-my
		if dx*dx+dy*dy < 0.5 {
			return
		}
		// at most 10 m per move target (well within the move limit)
		if d2 := dx*dx + dy*dy; d2 > 100 {
			f := 10 / sqrt32(d2)
			dx, dy = dx*f, dy*f
		}
		must(p.t, p.move(mx+dx, my+dy))
		p.drain(100 * time.Millisecond)
	}
	p.t.Fatalf("%s never reached (%v,%v)", p.id, x, y)
}

// drain applies the pushes that arrive within d.
func (p *tplayer) drain(d time.Duration) {
	end := time.After(d)
	for {
		select {
		case ps := <-p.pushes:
			p.apply(ps)
		case <-end:
			return
		}
	}
}

func (p *tplayer) apply(ps push) {
	switch ps.route {
	case scenehost.PushEnter:
		var info gamev1.SceneInfo
		must(p.t, proto.Unmarshal(ps.body, &info))
		p.view = scene.NewView(&info)
	case scenehost.PushUpdate:
		var u gamev1.SceneUpdate
		must(p.t, proto.Unmarshal(ps.body, &u))
		if p.view != nil {
			p.view.Apply(&u)
		}
	}
}

func sqrt32(v float32) float32 {
	x := v
	for range 20 {
		x = (x + v/x) / 2
	}
	return x
}

// record reads a player's record from the store, as saved.
func (w *world) record(id gamemesh.PlayerID) *gamev1.PlayerRecord {
	w.t.Helper()
	item, err := w.mem.Get(context.Background(), "player/rec/"+string(id))
	must(w.t, err)
	rec := new(gamev1.PlayerRecord)
	must(w.t, proto.Unmarshal(item.Value, rec))
	return rec
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
