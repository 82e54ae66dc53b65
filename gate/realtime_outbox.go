package gate

import gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"

// putMany queues envs (responses and pushes of one scene tick) in one step,
// so the write loop writes them in one write. Like putPush it refuses until
// the login response is queued.
func (o *outbox) putMany(envs []*gamev1.Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	o.mu.Lock()
	switch {
	case !o.pushable || o.closed || o.final:
		o.mu.Unlock()
		return errOutClosed
	case len(o.frames)+len(envs) > o.limit:
		o.mu.Unlock()
		return errOutFull
	}
	o.frames = append(o.frames, envs...)
	o.mu.Unlock()
	o.signal()
	return nil
}
