package gate

import (
	"math/bits"
	"sync"
)

// Buffers are shared by every connection through size-classed pools: a
// connection holds a read buffer only while bytes of a frame are waiting to
// be handled, and a write buffer only while frames are waiting to be
// written, so an idle connection holds none.
const (
	// chunkSize is the read chunk and the smallest write buffer: pipelined
	// small frames are read and written with one syscall each way.
	chunkSize   = 16 << 10
	minClassLog = 14 // log2(chunkSize)
	maxClassLog = 25 // 32 MiB: past MaxFrameLimit plus framing
)

// buffer is a pooled byte slice; the pools hold *buffer so that taking and
// giving back allocate nothing.
type buffer struct{ b []byte }

var bufPools [maxClassLog + 1]sync.Pool

// classOf returns the pool class of buffers of at least n bytes.
func classOf(n int) int {
	if n <= 1<<minClassLog {
		return minClassLog
	}
	return bits.Len(uint(n - 1))
}

// getBuf returns a buffer with an empty slice of capacity at least n.
func getBuf(n int) *buffer {
	c := classOf(n)
	if c > maxClassLog {
		return &buffer{b: make([]byte, 0, n)}
	}
	if p, _ := bufPools[c].Get().(*buffer); p != nil {
		p.b = p.b[:0]
		return p
	}
	return &buffer{b: make([]byte, 0, 1<<c)}
}

// putBuf gives p back to the pool of its capacity; a slice grown by append
// past its class (an odd capacity) is left to the garbage collector. p must
// not be used afterwards.
func putBuf(p *buffer) {
	if p == nil {
		return
	}
	n := cap(p.b)
	if n < 1<<minClassLog || n&(n-1) != 0 || bits.Len(uint(n))-1 > maxClassLog {
		return
	}
	p.b = p.b[:0]
	bufPools[bits.Len(uint(n))-1].Put(p)
}
