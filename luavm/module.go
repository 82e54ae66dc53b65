package luavm

import (
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
)

// module is one script module: its kept generations and which of them serve.
type module struct {
	name     string
	required []string

	patchMu sync.Mutex // serializes Patch and Rollback of this module

	mu          sync.Mutex
	gens        []*generation // kept, by number ascending
	maxNumber   int
	activations int
	route       atomic.Pointer[route] // read lock-free by every batch
}

// route says which generations serve a module's calls.
type route struct {
	active *generation
	canary *generation // nil unless a canary runs
	share  float64
	run    *canaryRun
}

// pick chooses the generation a batch runs on.
func (r *route) pick() *generation {
	if r.canary != nil && rand.Float64() < r.share {
		return r.canary
	}
	return r.active
}

func newModule(name string, required []string) *module {
	m := &module{name: name, required: required}
	m.route.Store(&route{})
	return m
}

func (m *module) byHash(hash string) *generation {
	for _, g := range m.gens {
		if g.info.Hash == hash {
			return g
		}
	}
	return nil
}

func (m *module) byNumber(n int) *generation {
	for _, g := range m.gens {
		if g.info.Number == n {
			return g
		}
	}
	return nil
}

// add keeps g and drops the oldest generations beyond keep (never the active
// one or the canary).
func (m *module) add(g *generation, keep int) {
	m.gens = append(m.gens, g)
	sort.Slice(m.gens, func(i, j int) bool { return m.gens[i].info.Number < m.gens[j].info.Number })
	if g.info.Number > m.maxNumber {
		m.maxNumber = g.info.Number
	}
	r := m.route.Load()
	for len(m.gens) > keep {
		i := 0
		for i < len(m.gens) && (m.gens[i] == r.active || m.gens[i] == r.canary || m.gens[i] == g) {
			i++
		}
		if i == len(m.gens) {
			return
		}
		m.gens[i].live.Store(false)
		m.gens[i].dropped.Store(true)
		m.gens = append(m.gens[:i], m.gens[i+1:]...)
	}
}

// previous returns the generation that was active before the current one.
func (m *module) previous(active *generation) *generation {
	var best *generation
	for _, g := range m.gens {
		if g != active && g.activations > 0 && (best == nil || g.activations > best.activations) {
			best = g
		}
	}
	return best
}
