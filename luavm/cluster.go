package luavm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gamemesh/gamemesh"
)

// Cluster layout. A pushed bundle is stored once, by content, in the Store;
// the hash every host must run is a configuration key; a history document per
// module numbers the generations (so every host agrees on numbers) and
// records who activated what:
//
//	store  luavm/bundle/<module>/<hash>  bundleDoc (JSON): files, number, by, when
//	store  luavm/history/<module>        historyDoc (JSON), ETag-guarded
//	config luavm.active.<module>         the active hash
//
// Publisher writes them (ctl, IDIP); Follower (every host) reads them.

// ConfigKey is the configuration key holding module's active hash.
func ConfigKey(module string) string { return "luavm.active." + module }

func bundleKey(module, hash string) string { return "luavm/bundle/" + module + "/" + hash }
func historyKey(module string) string      { return "luavm/history/" + module }

// maxActivations caps the activation records a history keeps.
const maxActivations = 64

type bundleDoc struct {
	Module    string    `json:"module"`
	Number    int       `json:"number"`
	Hash      string    `json:"hash"`
	By        string    `json:"by"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
	Files     []File    `json:"files"`
}

// HistoryEntry is one generation a Publisher pushed.
type HistoryEntry struct {
	Number    int       `json:"number"`
	Hash      string    `json:"hash"`
	By        string    `json:"by"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}

// Activation records one change of a module's active hash.
type Activation struct {
	Number int       `json:"number"`
	Hash   string    `json:"hash"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Action string    `json:"action"` // "baseline", "push" or "rollback"
}

// History is a module's cluster history.
type History struct {
	Module      string         `json:"module"`
	Generations []HistoryEntry `json:"generations"`
	Activations []Activation   `json:"activations"`
	// Active is the hash the configuration key holds now ("" if none).
	Active string `json:"-"`
}

func (h *History) byHash(hash string) (HistoryEntry, bool) {
	for _, e := range h.Generations {
		if e.Hash == hash {
			return e, true
		}
	}
	return HistoryEntry{}, false
}

func (h *History) byNumber(n int) (HistoryEntry, bool) {
	for _, e := range h.Generations {
		if e.Number == n {
			return e, true
		}
	}
	return HistoryEntry{}, false
}

func (e HistoryEntry) generation(module string) Generation {
	return Generation{Module: module, Number: e.Number, Hash: e.Hash, CreatedAt: e.CreatedAt, By: e.By, Source: e.Source}
}

// BundleStore is what a Publisher needs of a gamemesh.Store.
type BundleStore interface {
	Get(ctx context.Context, key string) (gamemesh.Item, error)
	Set(ctx context.Context, key string, value []byte, opts gamemesh.SetOptions) error
}

// ConfigStore is what a Publisher needs of the configuration store: read the
// active hashes and write one (embedded.FileConfig has both; in Dapr mode the
// writer goes to Redis directly, as for feature switches).
type ConfigStore interface {
	Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error)
	Set(key, value string) (version string, err error)
}

// Checker checks a bundle before it is published (a *Pool is one).
type Checker interface {
	Check(ctx context.Context, b *Bundle) error
}

// Publisher pushes bundles to a cluster and rolls them back: the operator's
// side of hot patching (ctl script push / list / rollback, IDIP).
type Publisher struct {
	store    BundleStore
	config   ConfigStore
	check    Checker
	log      *slog.Logger
	baseline map[string]baseline // by module
}

// baseline is the bundle hosts run before the cluster's first push of its
// module (their own scripts folder).
type baseline struct {
	b      *Bundle
	source string
}

// SetBaseline names the bundles every host runs before anything is pushed
// (the scripts folder they ship with; source says where they come from).
// The first push of such a module records its baseline as generation 1
// first, so that rolling that push back returns the cluster to the shipped
// scripts instead of answering that there is nothing to roll back to. Call
// it before the Publisher is used.
func (p *Publisher) SetBaseline(source string, bundles ...*Bundle) {
	if p.baseline == nil {
		p.baseline = map[string]baseline{}
	}
	for _, b := range bundles {
		p.baseline[b.module] = baseline{b: b, source: source}
	}
}

// NewPublisher returns a Publisher. check may be nil (bundles are then only
// compiled before publishing; hosts still run every check before adopting).
func NewPublisher(store BundleStore, config ConfigStore, check Checker, logger *slog.Logger) *Publisher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Publisher{store: store, config: config, check: check, log: logger.With("component", "luavm.publisher")}
}

// Push publishes b: it runs the Checker, stores the bundle, numbers it in the
// module's history, and sets the module's active hash, which every Follower
// then adopts (through its own checks and canary). Pushing a bundle already
// in the history re-activates its generation.
func (p *Publisher) Push(ctx context.Context, b *Bundle, by, source string) (Generation, error) {
	if b == nil {
		return Generation{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "nil bundle")
	}
	if p.check != nil {
		if err := p.check.Check(ctx, b); err != nil {
			return Generation{}, gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, "push refused: "+errText(err))
		}
	}
	now := time.Now().UTC()
	var entry HistoryEntry
	var base *HistoryEntry // recorded by this push: the shipped scripts
	err := p.updateHistory(ctx, b.module, func(h *History) error {
		base = nil
		if bl, ok := p.baseline[b.module]; ok && len(h.Generations) == 0 && bl.b.hash != b.hash {
			e := HistoryEntry{Number: 1, Hash: bl.b.hash, By: "baseline", Source: bl.source, CreatedAt: now}
			h.Generations = append(h.Generations, e)
			h.addActivation(Activation{Number: 1, Hash: e.Hash, By: "baseline", At: now, Action: "baseline"})
			base = &e
		}
		e, ok := h.byHash(b.hash)
		if !ok {
			e = HistoryEntry{Number: 1, Hash: b.hash, By: by, Source: source, CreatedAt: now}
			if n := len(h.Generations); n > 0 {
				e.Number = h.Generations[n-1].Number + 1
			}
			h.Generations = append(h.Generations, e)
		}
		h.addActivation(Activation{Number: e.Number, Hash: e.Hash, By: by, At: now, Action: "push"})
		entry = e
		return nil
	})
	if err != nil {
		return Generation{}, err
	}
	// The bundle is stored after its number is taken and before any host is
	// told to run it. It is content-addressed: if it is there already, it is
	// this very content.
	if base != nil {
		if err := p.storeBundle(ctx, p.baseline[b.module].b, *base); err != nil {
			return Generation{}, err
		}
	}
	if err := p.storeBundle(ctx, b, entry); err != nil {
		return Generation{}, err
	}
	gen := entry.generation(b.module)
	if err := p.activate(b.module, gen.Hash); err != nil {
		return Generation{}, err
	}
	p.log.Info("lua bundle pushed", "module", b.module, "gen", gen.Number, "hash", short(gen.Hash), "by", by, "source", source)
	return gen, nil
}

// storeBundle stores b as generation e (content-addressed: a bundle already
// stored under its hash is this very content).
func (p *Publisher) storeBundle(ctx context.Context, b *Bundle, e HistoryEntry) error {
	doc, err := json.Marshal(bundleDoc{Module: b.module, Number: e.Number, Hash: b.hash, By: e.By, Source: e.Source,
		CreatedAt: e.CreatedAt, Files: b.files})
	if err != nil {
		return fmt.Errorf("encode bundle: %w", err)
	}
	if err := p.store.Set(ctx, bundleKey(b.module, b.hash), doc, gamemesh.SetOptions{}); err != nil && !errors.Is(err, gamemesh.ErrConflict) {
		return err
	}
	return nil
}

// Rollback makes generation number (0: the one active before the current
// one) of module the cluster's active generation.
func (p *Publisher) Rollback(ctx context.Context, module string, number int, by string) (Generation, error) {
	active, err := p.active(ctx, module)
	if err != nil {
		return Generation{}, err
	}
	var gen Generation
	err = p.updateHistory(ctx, module, func(h *History) error {
		var e HistoryEntry
		var ok bool
		if number > 0 {
			e, ok = h.byNumber(number)
		} else {
			for i := len(h.Activations) - 1; i >= 0 && !ok; i-- {
				if a := h.Activations[i]; a.Hash != active {
					e, ok = h.byHash(a.Hash)
				}
			}
		}
		if !ok {
			return gamemesh.Errorf(gamemesh.CodeNotFound, "script module %s has no such generation to roll back to", module)
		}
		h.addActivation(Activation{Number: e.Number, Hash: e.Hash, By: by, At: time.Now().UTC(), Action: "rollback"})
		gen = e.generation(module)
		return nil
	})
	if err != nil {
		return Generation{}, err
	}
	if err := p.activate(module, gen.Hash); err != nil {
		return Generation{}, err
	}
	p.log.Warn("lua bundle rolled back", "module", module, "gen", gen.Number, "hash", short(gen.Hash), "by", by)
	return gen, nil
}

// History returns module's cluster history and its active hash.
func (p *Publisher) History(ctx context.Context, module string) (History, error) {
	h, _, err := readHistory(ctx, p.store, module)
	if err != nil {
		return History{}, err
	}
	if h.Active, err = p.active(ctx, module); err != nil {
		return History{}, err
	}
	return h, nil
}

func (p *Publisher) active(ctx context.Context, module string) (string, error) {
	items, err := p.config.Get(ctx, []string{ConfigKey(module)})
	if err != nil {
		return "", err
	}
	return items[ConfigKey(module)].Value, nil
}

func (p *Publisher) activate(module, hash string) error {
	if _, err := p.config.Set(ConfigKey(module), hash); err != nil {
		return fmt.Errorf("set %s: %w", ConfigKey(module), err)
	}
	return nil
}

func (h *History) addActivation(a Activation) {
	h.Activations = append(h.Activations, a)
	if n := len(h.Activations); n > maxActivations {
		h.Activations = append([]Activation(nil), h.Activations[n-maxActivations:]...)
	}
}

// updateHistory applies fn to module's history under its ETag, retrying on
// conflict.
func (p *Publisher) updateHistory(ctx context.Context, module string, fn func(*History) error) error {
	if !gamemesh.ValidKeyPart(module) {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "bad script module name %q", module)
	}
	for attempt := 0; ; attempt++ {
		h, etag, err := readHistory(ctx, p.store, module)
		if err != nil {
			return err
		}
		if err := fn(&h); err != nil {
			return err
		}
		data, err := json.Marshal(h)
		if err != nil {
			return fmt.Errorf("encode history: %w", err)
		}
		err = p.store.Set(ctx, historyKey(module), data, gamemesh.SetOptions{ETag: etag})
		if err == nil {
			return nil
		}
		if !errors.Is(err, gamemesh.ErrConflict) || attempt >= 8 {
			return err
		}
	}
}

func readHistory(ctx context.Context, store interface {
	Get(ctx context.Context, key string) (gamemesh.Item, error)
}, module string) (History, string, error) {
	it, err := store.Get(ctx, historyKey(module))
	if errors.Is(err, gamemesh.ErrNotFound) {
		return History{Module: module}, "", nil
	}
	if err != nil {
		return History{}, "", err
	}
	var h History
	if err := json.Unmarshal(it.Value, &h); err != nil {
		return History{}, "", gamemesh.Wrap(gamemesh.CodeInternal, err, "script history of "+module+" is corrupt")
	}
	return h, it.ETag, nil
}
