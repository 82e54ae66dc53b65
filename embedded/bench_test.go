package embedded

import (
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gamemesh/gamemesh"
)

// BenchmarkStoreSet measures the cost of one durable write (an fsynced bbolt
// commit, shared by concurrent writers through the DB's group commit):
//
//   - Serial: one writer, read-modify-write with the ETag (Get + Set);
//   - ParallelETag: GOMAXPROCS×4 writers, each on its own key, Get + Set with the ETag;
//   - ParallelUnconditional: the same writers with last-write-wins Sets;
//   - ParallelETagBoltBatch: ParallelETag committed through bbolt's Batch
//     (default MaxBatchDelay) instead: the baseline for the group commit.
//
// Compare ParallelETag with Serial and with ParallelETagBoltBatch.
func BenchmarkStoreSet(b *testing.B) {
	b.Run("Serial", func(b *testing.B) {
		s := openTestDB(b, "").Store()
		key := "bench"
		if err := s.Set(b.Context(), key, []byte("0"), gamemesh.SetOptions{}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := rmw(b, s, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParallelETag", func(b *testing.B) {
		s := openTestDB(b, "").Store()
		var next atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			key := "bench-" + strconv.FormatInt(next.Add(1), 10)
			if err := s.Set(b.Context(), key, []byte("0"), gamemesh.SetOptions{}); err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				if err := rmw(b, s, key); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("ParallelETagBoltBatch", func(b *testing.B) {
		db := openTestDB(b, "")
		s := db.Store()
		var next atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			key := "bench-" + strconv.FormatInt(next.Add(1), 10)
			if err := s.Set(b.Context(), key, []byte("0"), gamemesh.SetOptions{}); err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				it, err := s.Get(b.Context(), key)
				if err != nil {
					b.Error(err)
					return
				}
				var result error
				err = db.bolt.Batch(func(tx *bolt.Tx) error {
					result = applySet(tx, key, []byte("x"), gamemesh.SetOptions{ETag: it.ETag}, time.Now())
					return nil
				})
				if err != nil || result != nil {
					b.Error(err, result)
					return
				}
			}
		})
	})
	b.Run("ParallelUnconditional", func(b *testing.B) {
		s := openTestDB(b, "").Store()
		var next atomic.Int64
		b.SetParallelism(4)
		value := make([]byte, 256)
		b.RunParallel(func(pb *testing.PB) {
			key := "bench-" + strconv.FormatInt(next.Add(1), 10)
			for pb.Next() {
				if err := s.Set(b.Context(), key, value, gamemesh.SetOptions{Unconditional: true}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// rmw increments the counter under key with Get and an ETag-guarded Set.
func rmw(b *testing.B, s gamemesh.Store, key string) error {
	it, err := s.Get(b.Context(), key)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(string(it.Value))
	err = s.Set(b.Context(), key, []byte(strconv.Itoa(n+1)), gamemesh.SetOptions{ETag: it.ETag})
	if errors.Is(err, gamemesh.ErrConflict) {
		return errors.New("conflict on a key with one writer")
	}
	return err
}
