package luavm

// Stats are the pool's counters: the workers, batches and VM builds, and per
// module its kept generations with their calls, errors and budget kills.
type Stats struct {
	Workers  int
	Batches  uint64
	VMBuilds uint64
	Modules  map[string][]GenerationStatus
}

// Stats returns a snapshot of the counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	workers := len(p.workers)
	p.mu.Unlock()
	s := Stats{Workers: workers, Batches: p.batches.Load(), VMBuilds: p.vmBuilds.Load(), Modules: map[string][]GenerationStatus{}}
	for _, m := range p.Modules() {
		s.Modules[m] = p.Generations(m)
	}
	return s
}
