package bots

import (
	"io"
	"net"
	"sync"
)

// relay forwards TCP connections to a gate and can cut every one of them at
// once, as a network failure would (the resume scenario).
type relay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func startRelay(target string) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		// From the client's own address: the gate's per-IP limits see the
		// bots as they are spread, not as one relay.
		d := net.Dialer{}
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			d.LocalAddr = &net.TCPAddr{IP: ta.IP}
		}
		up, err := d.Dial("tcp", r.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		r.mu.Lock()
		r.conns[c], r.conns[up] = struct{}{}, struct{}{}
		r.mu.Unlock()
		r.wg.Add(2)
		go r.pipe(up, c)
		go r.pipe(c, up)
	}
}

func (r *relay) pipe(dst, src net.Conn) {
	defer r.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	r.mu.Lock()
	delete(r.conns, dst)
	delete(r.conns, src)
	r.mu.Unlock()
}

// cut closes every relayed connection and returns how many client
// connections it dropped.
func (r *relay) cut() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		_ = c.Close()
	}
	n := len(r.conns) / 2
	clear(r.conns)
	return n
}

func (r *relay) close() {
	_ = r.ln.Close()
	r.cut()
	r.wg.Wait()
}
