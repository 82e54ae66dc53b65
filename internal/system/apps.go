package system

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/achievement"
	"github.com/gamemesh/gamemesh/functions/guild"
	"github.com/gamemesh/gamemesh/functions/login"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// FunctionApps lists the function apps gamemesh ships.
func FunctionApps() []string { return []string{"login", "mail", "player", "guild", "achievement"} }

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
}

// registerApps builds the named function apps on p and registers them on reg:
// the one place where apps are constructed, whichever mode runs them.
func registerApps(reg *functions.Registry, names []string, p appPorts) error {
	for _, name := range names {
		var (
			app interface{ Register(*functions.Registry) }
			err error
		)
		switch name {
		case "login":
			app, err = login.New(login.Config{Secret: p.ticketSecret}, login.Deps{Store: p.store, Logger: p.log})
		case "mail":
			app, err = mail.New(mail.Config{}, mail.Deps{Store: p.store, Invoker: p.invoker, Publisher: p.pub, Pusher: p.pusher, Logger: p.log})
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

// validApps checks names against FunctionApps; empty means all of them.
func validApps(names []string) ([]string, error) {
	if len(names) == 0 {
		return FunctionApps(), nil
	}
	for _, a := range names {
		if !slices.Contains(FunctionApps(), a) {
			return nil, fmt.Errorf("system: unknown function app %q (have %v)", a, FunctionApps())
		}
	}
	return names, nil
}
