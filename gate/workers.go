package gate

import (
	"sync"
	"time"
)

// workerIdle is how long an idle call worker waits for work before it exits
// (between one and two times this long).
const workerIdle = 10 * time.Second

// workers runs calls on reused goroutines: a call goes to an idle worker if
// one is waiting, or to a new one. Reuse keeps grown stacks, which fresh
// goroutines would grow again for every call. Workers exit after workerIdle
// without work, or when stop is closed once no call can be submitted.
type workers struct {
	jobs chan func()
	stop chan struct{}
	wg   sync.WaitGroup
}

func newWorkers() *workers {
	return &workers{jobs: make(chan func()), stop: make(chan struct{})}
}

// run runs job on a worker. It must not be called after close.
func (w *workers) run(job func()) {
	select {
	case w.jobs <- job:
	default:
		w.wg.Add(1)
		go w.loop(job)
	}
}

func (w *workers) loop(job func()) {
	defer w.wg.Done()
	job()
	idle := time.NewTicker(workerIdle)
	defer idle.Stop()
	busy := true // ran a job since the last tick
	for {
		select {
		case job := <-w.jobs:
			job()
			busy = true
		case <-idle.C:
			if !busy {
				return
			}
			busy = false
		case <-w.stop:
			return
		}
	}
}

// close stops the idle workers and waits for all of them.
func (w *workers) close() {
	close(w.stop)
	w.wg.Wait()
}
