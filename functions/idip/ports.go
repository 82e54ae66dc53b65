package idip

import (
	"context"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
)

// Roster lists the running processes of the cluster (the gates, with the
// players they hold); directory.MemoryRoster and redisdir.Roster have it.
type Roster interface {
	Members(ctx context.Context, kind string) ([]directory.Member, error)
}

// ConfigStore reads and writes the live configuration (feature switches and
// settings): embedded.FileConfig in embedded mode, redisconfig.Store in Dapr
// mode, each behind a small adapter in internal/system.
type ConfigStore interface {
	// Get returns the items present among keys.
	Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error)
	// Prefixed returns every item whose key starts with prefix.
	Prefixed(ctx context.Context, prefix string) (map[string]gamemesh.ConfigItem, error)
	// Set writes key = value with the key's previous version + 1 and
	// returns the new version.
	Set(ctx context.Context, key, value string) (version string, err error)
}

// Scripts publishes Lua bundles to the cluster (a luavm.Publisher behind an
// adapter in internal/system: this package does not import luavm, which
// carries gopher-lua). Errors are *gamemesh.Error: INVALID_ARGUMENT for a
// bundle that does not compile or fails its checks (nothing published),
// NOT_FOUND for a generation that does not exist.
type Scripts interface {
	Push(ctx context.Context, module string, files []ScriptFile, by, source string) (ScriptGeneration, error)
	History(ctx context.Context, module string) (ScriptHistory, error)
	Rollback(ctx context.Context, module string, number int, by string) (ScriptGeneration, error)
	Modules(ctx context.Context) ([]string, error)
}

// ScriptFile is one file of a Lua module.
type ScriptFile struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

// ScriptGeneration is one published generation of a module.
type ScriptGeneration struct {
	Module    string    `json:"module"`
	Number    int       `json:"number"`
	Hash      string    `json:"hash"`
	By        string    `json:"by"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}

// ScriptActivation is one change of a module's active generation.
type ScriptActivation struct {
	Number int       `json:"number"`
	Hash   string    `json:"hash"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Action string    `json:"action"` // "push" or "rollback"
}

// ScriptHistory is a module's cluster history; Active is the hash every
// host is told to run ("" when none).
type ScriptHistory struct {
	Module      string             `json:"module"`
	Active      string             `json:"active"`
	Generations []ScriptGeneration `json:"generations"`
	Activations []ScriptActivation `json:"activations"`
}

// Features says whether a system is switched on (*feature.Flags has it).
type Features interface {
	Enabled(system string) bool
}
