package embedded

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gamemesh/gamemesh"
)

// MaxKeyLen is the longest key the embedded Store accepts, in bytes.
const MaxKeyLen = 4096

// Store returns the key-value store of db. ETags are decimal version numbers
// drawn from one counter for the whole store, so a key's ETag grows with every
// write and never repeats, even after the key is deleted and created again.
func (db *DB) Store() gamemesh.Store { return kvStore{db} }

type kvStore struct{ db *DB }

var (
	errConflict = gamemesh.Errorf(gamemesh.CodeConflict, "etag mismatch")
	errNotFound = gamemesh.Errorf(gamemesh.CodeNotFound, "key not found")
)

func validKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "store key must be 1 to %d bytes, got %d", MaxKeyLen, len(key))
	}
	return nil
}

// Get implements gamemesh.Store.
func (s kvStore) Get(ctx context.Context, key string) (gamemesh.Item, error) {
	if err := s.db.begin(ctx); err != nil {
		return gamemesh.Item{}, err
	}
	if err := validKey(key); err != nil {
		return gamemesh.Item{}, err
	}
	var it gamemesh.Item
	now := time.Now()
	err := s.db.read(func(tx *bolt.Tx) error {
		rec, ok, err := getLive(tx, key, now)
		if err != nil {
			return err
		}
		if !ok {
			return errNotFound
		}
		it = gamemesh.Item{Value: append([]byte{}, rec.value...), ETag: rec.etag()}
		return nil
	})
	return it, err
}

// Set implements gamemesh.Store.
func (s kvStore) Set(ctx context.Context, key string, value []byte, opts gamemesh.SetOptions) error {
	if err := s.db.begin(ctx); err != nil {
		return err
	}
	if err := checkSet(key, opts); err != nil {
		return err
	}
	if !opts.Unconditional {
		// Refuse a stale ETag without taking the write lock: under contention
		// most losers stop here.
		if err := s.db.read(func(tx *bolt.Tx) error {
			_, err := checkETag(tx, key, opts.ETag, time.Now())
			return err
		}); err != nil {
			return err
		}
	}
	var result error
	err := s.db.write(func(tx *bolt.Tx) error {
		// write may run this function again: decide from tx alone.
		result = applySet(tx, key, value, opts, time.Now())
		if result == errConflict {
			return nil // a refused write is not a failed batch
		}
		return result
	})
	if err != nil {
		return err
	}
	return result
}

// Delete implements gamemesh.Store.
func (s kvStore) Delete(ctx context.Context, key, etag string) error {
	if err := s.db.begin(ctx); err != nil {
		return err
	}
	if err := validKey(key); err != nil {
		return err
	}
	var result error
	err := s.db.write(func(tx *bolt.Tx) error {
		result = applyDelete(tx, key, etag, time.Now())
		if result == errConflict {
			return nil
		}
		return result
	})
	if err != nil {
		return err
	}
	return result
}

func checkSet(key string, opts gamemesh.SetOptions) error {
	if err := validKey(key); err != nil {
		return err
	}
	if opts.Unconditional && opts.ETag != "" {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "an unconditional write takes no etag")
	}
	return nil
}

// getLive returns the record of key unless it is missing or expired.
func getLive(tx *bolt.Tx, key string, now time.Time) (kvRecord, bool, error) {
	raw := tx.Bucket(bucketKV).Get([]byte(key))
	if raw == nil {
		return kvRecord{}, false, nil
	}
	rec, err := decodeKV(raw)
	if err != nil {
		return kvRecord{}, false, fmt.Errorf("key %q: %w", key, err)
	}
	if rec.expired(now) {
		return kvRecord{}, false, nil
	}
	return rec, true, nil
}

// checkETag returns errConflict unless the live state of key allows a write
// guarded by etag ("" = the key must not exist).
func checkETag(tx *bolt.Tx, key, etag string, now time.Time) (kvRecord, error) {
	rec, ok, err := getLive(tx, key, now)
	if err != nil {
		return kvRecord{}, err
	}
	if etag == "" && ok || etag != "" && (!ok || rec.etag() != etag) {
		return kvRecord{}, errConflict
	}
	return rec, nil
}

// applySet writes value under key in tx, guarded by opts. It returns
// errConflict, with tx unchanged, when the ETag guard fails.
func applySet(tx *bolt.Tx, key string, value []byte, opts gamemesh.SetOptions, now time.Time) error {
	if !opts.Unconditional {
		if _, err := checkETag(tx, key, opts.ETag, now); err != nil {
			return err
		}
	}
	kv, ttl := tx.Bucket(bucketKV), tx.Bucket(bucketKVTTL)
	if err := dropTTL(kv, ttl, key); err != nil {
		return err
	}
	version, err := kv.NextSequence()
	if err != nil {
		return fmt.Errorf("next version: %w", err)
	}
	rec := kvRecord{version: version, value: value}
	if opts.TTL > 0 {
		rec.expiresAt = now.Add(opts.TTL).UnixNano()
		if err := ttl.Put(ttlKey(rec.expiresAt, key), nil); err != nil {
			return fmt.Errorf("index ttl of %q: %w", key, err)
		}
	}
	if err := kv.Put([]byte(key), rec.encode()); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// applyDelete removes key in tx. A non-empty etag must match the live value;
// a missing or expired key is not an error.
func applyDelete(tx *bolt.Tx, key, etag string, now time.Time) error {
	rec, ok, err := getLive(tx, key, now)
	if err != nil {
		return err
	}
	if ok && etag != "" && rec.etag() != etag {
		return errConflict
	}
	kv := tx.Bucket(bucketKV)
	if err := dropTTL(kv, tx.Bucket(bucketKVTTL), key); err != nil {
		return err
	}
	if err := kv.Delete([]byte(key)); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// dropTTL removes the sweeper index entry of the current record of key, if any.
func dropTTL(kv, ttl *bolt.Bucket, key string) error {
	raw := kv.Get([]byte(key))
	if raw == nil {
		return nil
	}
	rec, err := decodeKV(raw)
	if err != nil || rec.expiresAt == 0 {
		return nil // a corrupt record is overwritten; it has no index entry we can find
	}
	if err := ttl.Delete(ttlKey(rec.expiresAt, key)); err != nil {
		return fmt.Errorf("unindex ttl of %q: %w", key, err)
	}
	return nil
}
