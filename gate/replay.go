package gate

// replay is a resumable session's bounded buffer of the frames its client
// has not acknowledged, in seq order, each kept encoded (without framing, so
// it can be replayed over either transport). Beyond maxFrames or maxBytes
// the oldest are dropped; floor is then the highest seq no longer kept, and
// a client that missed it cannot resume. It also answers repeated requests:
// the answer to a request is kept as long as its frame is.
type replay struct {
	maxFrames, maxBytes int
	frames              []replayFrame
	bytes               int
	floor               uint64 // frames up to floor are gone (acknowledged or dropped)
}

type replayFrame struct {
	seq, replyTo uint64
	payload      []byte
}

// add keeps a frame, dropping the oldest beyond the bounds.
func (r *replay) add(seq, replyTo uint64, payload []byte) {
	r.frames = append(r.frames, replayFrame{seq: seq, replyTo: replyTo, payload: payload})
	r.bytes += len(payload)
	drop := 0
	for len(r.frames)-drop > r.maxFrames || (r.bytes > r.maxBytes && len(r.frames)-drop > 0) {
		r.bytes -= len(r.frames[drop].payload)
		r.floor = r.frames[drop].seq
		drop++
	}
	r.trim(drop)
}

// ack forgets the frames up to seq.
func (r *replay) ack(seq uint64) {
	if seq <= r.floor {
		return
	}
	r.floor = seq
	drop := 0
	for drop < len(r.frames) && r.frames[drop].seq <= seq {
		r.bytes -= len(r.frames[drop].payload)
		drop++
	}
	r.trim(drop)
}

// trim removes the first n frames; an empty buffer gives its memory back.
func (r *replay) trim(n int) {
	if n == 0 {
		return
	}
	if n == len(r.frames) {
		r.frames, r.bytes = nil, 0
		return
	}
	clear(r.frames[:n])
	r.frames = r.frames[n:]
}

// answer returns the kept answer to request reqSeq, or nil.
func (r *replay) answer(reqSeq uint64) []byte {
	for i := range r.frames {
		if r.frames[i].replyTo == reqSeq {
			return r.frames[i].payload
		}
	}
	return nil
}
