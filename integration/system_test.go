//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/login"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/gate"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/ticket"
)

// Dapr app ids of the system under test: one process serving the function
// apps login and mail ("gamemesh fn --only login,mail"), one gate.
const (
	functionsAppID = "functions"
	gateAppID      = "gate"
)

// functionRoutes sends every function app to the combined functions app.
var functionRoutes = map[string]string{"login": functionsAppID, "mail": functionsAppID, "player": functionsAppID}

// system is a functions process and a gate process, each with its own
// sidecar, wired the way Dapr mode wires them.
type system struct {
	redis     *Redis
	fnSidecar *Sidecar
	gtSidecar *Sidecar
	fnClient  *dapr.Client
	gtClient  *dapr.Client
	gate      *gate.Gate
	// gateInvoker calls functions through the gate's sidecar, as the gate does.
	gateInvoker *dapr.Invoker
	// fnAppAddr is the functions app channel (for calls without sidecars).
	fnAppAddr string
}

// startSystem starts Redis, the functions process (login + mail) and a gate,
// in production order: sidecar first (its API answers before the app is up),
// secrets read, app built and started, then the sidecar reads subscriptions.
func startSystem(t testing.TB) *system {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	secretEnv := "GAMEMESH_SECRET_TICKET_KEY=" + hex.EncodeToString(key)
	sys := &system{redis: StartRedis(t)}

	// Functions process.
	fnAppPort := freePort(t)
	sys.fnSidecar = StartSidecar(t, sys.redis, SidecarOptions{AppID: functionsAppID, AppPort: fnAppPort, BeforeApp: true, Env: []string{secretEnv}})
	sys.fnClient = sys.fnSidecar.Client(t)
	secret, err := dapr.NewSecrets(sys.fnClient, "secretstore").Get(ctx, "TICKET_KEY")
	if err != nil {
		t.Fatalf("ticket key from the secret store: %v", err)
	}
	store := dapr.NewStore(sys.fnClient, "statestore")
	fnInvoker := dapr.NewInvoker(sys.fnClient, dapr.InvokerOptions{AppIDs: functionRoutes})
	reg := functions.NewRegistry()
	loginApp, err := login.New(login.Config{Secret: []byte(secret)}, login.Deps{Store: store, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	loginApp.Register(reg)
	mailApp, err := mail.New(mail.Config{}, mail.Deps{Store: store, Invoker: fnInvoker, Publisher: dapr.NewPublisher(sys.fnClient, "pubsub"), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	mailApp.Register(reg)
	sys.fnAppAddr = startApp(t, dapr.AppOptions{Registry: reg, PubSub: "pubsub", Address: "127.0.0.1:" + strconv.Itoa(fnAppPort)}, nil).Addr().String()
	sys.fnSidecar.WaitHealthy()

	// Gate process.
	gtAppPort := freePort(t)
	sys.gtSidecar = StartSidecar(t, sys.redis, SidecarOptions{AppID: gateAppID, Config: "gate.yaml", AppPort: gtAppPort, BeforeApp: true, Env: []string{secretEnv}})
	sys.gtClient = sys.gtSidecar.Client(t)
	gsecret, err := dapr.NewSecrets(sys.gtClient, "secretstore").Get(ctx, "TICKET_KEY")
	if err != nil {
		t.Fatalf("ticket key from the gate's secret store: %v", err)
	}
	verifier, err := ticket.NewVerifier([]byte(gsecret))
	if err != nil {
		t.Fatal(err)
	}
	sys.gateInvoker = dapr.NewInvoker(sys.gtClient, dapr.InvokerOptions{AppIDs: functionRoutes})
	gateApp, err := dapr.NewApp(dapr.AppOptions{PubSub: "pubsub", Address: "127.0.0.1:" + strconv.Itoa(gtAppPort), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	sys.gate, err = gate.New(gate.Config{ID: "gate-1", TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0"}, gate.Deps{
		Invoker:    sys.gateInvoker,
		Tickets:    verifier,
		Used:       directory.Once{Store: dapr.NewStore(sys.gtClient, "sharedstate"), Prefix: "ticket:"},
		Directory:  directory.NewMemory(),
		Subscriber: gateApp,
		Logger:     testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.gate.Start(ctx); err != nil { // subscribes the gate's push topic
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = sys.gate.Stop(sctx)
	})
	startApp(t, dapr.AppOptions{}, gateApp)
	sys.gtSidecar.WaitHealthy()
	return sys
}

// startApp starts an App (built from opts, or the given one) and stops it at
// the end of the test.
func startApp(t testing.TB, opts dapr.AppOptions, app *dapr.App) *dapr.App {
	t.Helper()
	if app == nil {
		opts.Logger = testLogger(t)
		var err error
		if app, err = dapr.NewApp(opts); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := app.Stop(ctx); err != nil {
			t.Errorf("app stop: %v", err)
		}
	})
	return app
}

// sendMail sends a mail with attachments to player as the system (a service
// call through the gate's sidecar) and returns its id.
func (s *system) sendMail(t *testing.T, to gamemesh.PlayerID, items ...*gamev1.Item) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out gamev1.SendMailResponse
	err := functions.Call(ctx, s.gateInvoker, "mail", "send",
		&gamev1.SendMailRequest{To: string(to), Subject: "gift", Attachments: items, RequestId: gamemesh.NewID()}, &out)
	if err != nil {
		t.Fatalf("mail.send: %v", err)
	}
	return out.GetMailId()
}
