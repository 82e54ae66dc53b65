package clienttest

import (
	"bufio"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// frameConn is one client connection of either transport. write is safe for
// concurrent use; read is called from the connection's goroutine only.
type frameConn interface {
	read(deadline time.Time) (*gamev1.Envelope, error)
	write(env *gamev1.Envelope) error
	close() error
}

const writeTimeout = 5 * time.Second

type tcpConn struct {
	c  net.Conn
	r  *wire.Reader
	mu sync.Mutex
}

func newTCPConn(c net.Conn, maxFrame int) *tcpConn {
	return &tcpConn{c: c, r: wire.NewReader(bufio.NewReader(c), maxFrame)}
}

func (t *tcpConn) read(deadline time.Time) (*gamev1.Envelope, error) {
	if err := t.c.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	return t.r.Read()
}

func (t *tcpConn) write(env *gamev1.Envelope) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return wire.Write(t.c, env)
}

func (t *tcpConn) close() error { return t.c.Close() }

type wsConn struct {
	c  *websocket.Conn
	mu sync.Mutex
}

func (w *wsConn) read(deadline time.Time) (*gamev1.Envelope, error) {
	if err := w.c.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	_, b, err := w.c.ReadMessage()
	if err != nil {
		return nil, err
	}
	return wire.Decode(b)
}

func (w *wsConn) write(env *gamev1.Envelope) error {
	b, err := proto.Marshal(env)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return w.c.WriteMessage(websocket.BinaryMessage, b)
}

func (w *wsConn) close() error { return w.c.Close() }
