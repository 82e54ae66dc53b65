package gate

import (
	"bufio"
	"net"
	"net/http"

	"github.com/gorilla/websocket"
)

// wsHijacker hands gorilla's Upgrade the hijacked connection and keeps the
// hijacked bufio.Reader, which gorilla reuses as its read buffer (the
// upgrader's ReadBufferSize is 0), so that wsTransport.hasFrame can see
// what is buffered.
type wsHijacker struct {
	http.ResponseWriter
	br *bufio.Reader
}

// Hijack takes over the connection, keeping its reader.
func (w *wsHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.br = brw.Reader
	}
	return c, brw, err
}

// newWSLinkTransport returns the transport of an upgraded connection: read
// by the gate itself on plain TCP, through gorilla otherwise (TLS). Gorilla
// refuses a client that sent bytes before the handshake's answer, so
// nothing is left in the hijacked reader for the former.
func (g *Gate) newWSLinkTransport(c *websocket.Conn, br *bufio.Reader, onPing func(string) error) transport {
	if t := newWSConnTransport(c.NetConn(), g.cfg.MaxFrameSize, onPing); t != nil {
		return t
	}
	return newWSTransport(c, br, g.cfg.MaxFrameSize, onPing)
}
