package system

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/achievement"
	"github.com/gamemesh/gamemesh/functions/guild"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/functions/login"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// FunctionApps lists the function apps gamemesh ships: what `gamemesh fn`
// serves by default, and the apps every caller routes.
func FunctionApps() []string { return []string{"login", "mail", "player", "guild", "achievement"} }

// OptionalApps are served only when named (`gamemesh fn --only idip`): the
// IDIP API needs its own listener and admin token, and nothing calls it
// through the mesh.
func OptionalApps() []string { return []string{idip.AppName} }

// appPorts is what the function apps are built on; each composition (embedded
// or Dapr) fills it with its own adapters.
type appPorts struct {
	store    gamemesh.Store
	invoker  gamemesh.Invoker
	pub      gamemesh.Publisher
	pusher   directory.Pusher
	features functions.Features
	// ticketSecret is needed when login is served.
	ticketSecret []byte
	// rules run the achievement rules; needed when achievement is served.
	rules   achievement.Rules
	welcome []*gamev1.Item
	log     *slog.Logger
	// templates render mail templates (nil: template mail goes out with its
	// fallback text); jobs, when set, collects the apps' background jobs
	// (the mail sweeper) for the composition to start and stop.
	templates mail.Templates
	jobs      *jobs
}

// job is a background task an app owns and the composition runs.
type job interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// registerApps builds the named function apps on p and registers them on reg:
// the one place where apps are constructed, whichever mode runs them.
func registerApps(reg *functions.Registry, names []string, p appPorts) error {
	// Muted players may not speak: the guard asks login wherever it runs.
	reg.SetSpeechGuard(login.SpeechGuard{Invoker: p.invoker, Logger: p.log.With("part", "mute")}, login.SpeechRoutes()...)
	for _, name := range names {
		if name == idip.AppName {
			continue // an HTTP API, not registry methods: see idip.go
		}
		var (
			app interface{ Register(*functions.Registry) }
			err error
		)
		switch name {
		case "login":
			app, err = login.New(login.Config{Secret: p.ticketSecret}, login.Deps{Store: p.store, Logger: p.log})
		case "mail":
			var m *mail.App
			m, err = mail.New(mail.Config{}, mail.Deps{Store: p.store, Invoker: p.invoker, Publisher: p.pub, Pusher: p.pusher,
				Templates: p.templates, Logger: p.log})
			if err == nil && p.jobs != nil {
				*p.jobs = append(*p.jobs, m.Sweeper(mail.SweeperConfig{}))
			}
			app = m
		case "player":
			app, err = player.New(player.Config{WelcomeGift: p.welcome}, player.Deps{Store: p.store, Invoker: p.invoker, Publisher: p.pub, Logger: p.log})
		case "guild":
			app, err = guild.New(guild.Config{}, guild.Deps{Store: p.store, Invoker: p.invoker, Pusher: p.pusher, Logger: p.log})
		case "achievement":
			app, err = achievement.New(achievement.Config{}, achievement.Deps{Store: p.store, Invoker: p.invoker, Rules: p.rules,
				Pusher: p.pusher, Features: p.features, Logger: p.log})
		default:
			return fmt.Errorf("system: unknown function app %q (have %v)", name, FunctionApps())
		}
		if err != nil {
			return fmt.Errorf("system: %s: %w", name, err)
		}
		app.Register(reg)
	}
	return nil
}

// validApps checks names against FunctionApps and OptionalApps; empty
// means all of FunctionApps.
func validApps(names []string) ([]string, error) {
	if len(names) == 0 {
		return FunctionApps(), nil
	}
	known := append(FunctionApps(), OptionalApps()...)
	for _, a := range names {
		if !slices.Contains(known, a) {
			return nil, fmt.Errorf("system: unknown function app %q (have %v)", a, known)
		}
	}
	return names, nil
}
