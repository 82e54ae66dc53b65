//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
	gmsystem "github.com/gamemesh/gamemesh/internal/system"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// mesh is every function app of gamemesh as `gamemesh fn` serves them (the
// internal/system composition) behind its own daprd, and a second daprd
// (app id "gate", no app) through which the tests call them and publish
// events, the way a gate and a scene host do.
type mesh struct {
	redis *Redis
	// inv calls the functions through the caller's sidecar and the
	// functions' sidecar.
	inv *dapr.Invoker
	// pub publishes through the caller's sidecar.
	pub gamemesh.Publisher
}

// startMesh starts Redis, the functions process and the caller sidecar.
func startMesh(t testing.TB) *mesh {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	secretEnv := "GAMEMESH_SECRET_TICKET_KEY=" + hex.EncodeToString(key)
	m := &mesh{redis: StartRedis(t)}
	routes, err := gmsystem.ParseRoutes("", "functions")
	if err != nil {
		t.Fatal(err)
	}
	fnPort := freePort(t)
	fnSidecar := StartSidecar(t, m.redis, SidecarOptions{AppID: "functions", AppPort: fnPort, BeforeApp: true, Env: []string{secretEnv}})
	t.Setenv(dapr.EnvGRPCPort, strconv.Itoa(fnSidecar.GRPCPort))
	fn, err := gmsystem.NewDaprFunctions(ctx, gmsystem.DaprFunctionsConfig{AppAddr: "127.0.0.1:" + strconv.Itoa(fnPort), Routes: routes,
		RedisAddr: m.redis.Addr(), ScriptsDir: filepath.Join(repoRoot(t), "scripts")}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := fn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := fn.Stop(sctx); err != nil {
			t.Errorf("functions stop: %v", err)
		}
	})
	fnSidecar.WaitHealthy()
	caller := StartSidecar(t, m.redis, SidecarOptions{AppID: "gate", Config: "gate.yaml", Env: []string{secretEnv}})
	c := caller.Client(t)
	m.inv = dapr.NewInvoker(c, dapr.InvokerOptions{AppIDs: routes})
	m.pub = dapr.NewPublisher(c, gmsystem.PubSub)
	return m
}

// call runs app.method as player p (empty: a service) with request id id
// (empty: a fresh one), bounded by timeout.
func (m *mesh) call(ctx context.Context, p gamemesh.PlayerID, id, app, method string, in, out proto.Message) error {
	body, err := proto.Marshal(in)
	if err != nil {
		return err
	}
	if id == "" {
		id = gamemesh.NewID()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := m.inv.Invoke(ctx, gamemesh.Request{App: app, Method: method, Player: p, ID: id, Body: body})
	if err != nil {
		return err
	}
	return proto.Unmarshal(resp, out)
}

// must fails the test on err.
func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// players makes n guest accounts and returns their ids.
func (m *mesh) players(t testing.TB, n int) []gamemesh.PlayerID {
	t.Helper()
	out := make([]gamemesh.PlayerID, n)
	for i := range out {
		var r gamev1.GuestLoginResponse
		must(t, "login.guest", m.call(context.Background(), "", "", "login", "guest",
			&gamev1.GuestLoginRequest{DeviceId: fmt.Sprintf("it-%s-%d", gamemesh.NewID()[:8], i)}, &r))
		out[i] = gamemesh.PlayerID(r.PlayerId)
	}
	return out
}

// gift sends p a system mail with count of item and returns its id.
func (m *mesh) gift(t testing.TB, p gamemesh.PlayerID, item string, count int64) string {
	t.Helper()
	var out gamev1.SendMailResponse
	must(t, "mail.send", m.call(context.Background(), "", "", "mail", "send", &gamev1.SendMailRequest{To: string(p), Subject: "gift",
		Attachments: []*gamev1.Item{{Id: item, Count: count}}, RequestId: gamemesh.NewID()}, &out))
	return out.MailId
}

// pending returns p's grants waiting for the inventory owner.
func (m *mesh) pending(t testing.TB, p gamemesh.PlayerID) []*gamev1.Grant {
	t.Helper()
	var out gamev1.PendingGrantsResponse
	must(t, "mail.pendingGrants", m.call(context.Background(), "", "", "mail", "pendingGrants", &gamev1.PendingGrantsRequest{PlayerId: string(p)}, &out))
	return out.Grants
}

// transient reports whether code is a transport failure under load (the
// request may or may not have run; its retry decides).
func transient(c gamemesh.Code) bool {
	return c == gamemesh.CodeUnavailable || c == gamemesh.CodeDeadlineExceeded
}

// retryable is transient, or CONFLICT ("busy, retry": every attempt of an
// ETag write lost to concurrent writers) where that is the only conflict a
// method answers.
func retryable(c gamemesh.Code) bool { return transient(c) || c == gamemesh.CodeConflict }
