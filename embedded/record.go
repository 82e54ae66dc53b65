package embedded

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/gamemesh/gamemesh"
)

// kvRecord is a stored value: version(8) | expiresAt unix ns(8, 0 = never) | value.
type kvRecord struct {
	version   uint64
	expiresAt int64
	value     []byte // aliases bbolt memory when decoded: copy before the tx ends
}

const kvHeader = 16

func (r kvRecord) encode() []byte {
	b := make([]byte, kvHeader+len(r.value))
	binary.BigEndian.PutUint64(b[0:8], r.version)
	binary.BigEndian.PutUint64(b[8:16], uint64(r.expiresAt))
	copy(b[kvHeader:], r.value)
	return b
}

var errCorrupt = errors.New("corrupt record")

func decodeKV(b []byte) (kvRecord, error) {
	if len(b) < kvHeader {
		return kvRecord{}, errCorrupt
	}
	return kvRecord{
		version:   binary.BigEndian.Uint64(b[0:8]),
		expiresAt: int64(binary.BigEndian.Uint64(b[8:16])),
		value:     b[kvHeader:],
	}, nil
}

func (r kvRecord) expired(now time.Time) bool {
	return r.expiresAt != 0 && now.UnixNano() >= r.expiresAt
}

func (r kvRecord) etag() string { return strconv.FormatUint(r.version, 10) }

// ttlKey is the sweeper index key of key expiring at expiresAt.
func ttlKey(expiresAt int64, key string) []byte {
	b := make([]byte, 8+len(key))
	binary.BigEndian.PutUint64(b, uint64(expiresAt))
	copy(b[8:], key)
	return b
}

// eventRecord is a queued event: uvarint attempts | uvarint len(id) | id | data.
// Attempts counts the deliveries that failed so far.
func encodeEvent(attempts int, ev gamemesh.Event) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(ev.ID)+len(ev.Data))
	b = binary.AppendUvarint(b, uint64(attempts))
	b = binary.AppendUvarint(b, uint64(len(ev.ID)))
	b = append(b, ev.ID...)
	return append(b, ev.Data...)
}

// decodeEvent decodes a queued event, copying out of bbolt memory.
func decodeEvent(b []byte) (attempts int, ev gamemesh.Event, err error) {
	a, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, ev, errCorrupt
	}
	b = b[n:]
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return 0, ev, errCorrupt
	}
	b = b[n:]
	ev.ID = string(b[:l])
	ev.Data = append([]byte(nil), b[l:]...)
	return int(a), ev, nil
}

// queueKey orders a queue by due time, then by sequence.
func queueKey(due int64, seq uint64) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b[0:8], uint64(due))
	binary.BigEndian.PutUint64(b[8:16], seq)
	return b
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}
