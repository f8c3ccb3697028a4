// Package store keeps the driver's networks and endpoints in an embedded
// bbolt database, so they survive plugin restarts, kill -9 and reboots.
//
// Records are JSON documents keyed by ID in named buckets. The store knows
// nothing about their shape; the driver owns the record types.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is returned by Open when another process holds the state file.
var ErrLocked = errors.New("state file is in use by another docker-vxlan-plugin process")

// lockWait bounds how long Open waits for the file lock, so a second
// instance fails fast instead of hanging.
const lockWait = time.Second

// Store is a bbolt-backed record store.
type Store struct {
	db *bolt.DB
}

// Open opens (creating if needed) the state file at path and takes its lock.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	if err := checkFile(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockWait})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
		return nil, fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	case err != nil:
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := checkPages(db); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.checkSchema(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the state file.
func (s *Store) Close() error { return s.db.Close() }

// Put stores v as JSON under bucket/key, replacing any earlier record.
func (s *Store) Put(bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", bucket, key, err)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", bucket, err)
		}
		return b.Put([]byte(key), data)
	})
}

// Get decodes the record bucket/key into v; found is false if there is none.
func (s *Store) Get(bucket, key string, v any) (found bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		data := b.Get([]byte(key))
		if data == nil {
			return nil
		}
		found = true
		return json.Unmarshal(data, v)
	})
	if err != nil {
		return false, fmt.Errorf("read %s/%s: %w", bucket, key, err)
	}
	return found, nil
}

// Delete removes bucket/key; a missing record is not an error.
func (s *Store) Delete(bucket, key string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
}

// List decodes every record of a bucket, calling each with its key and a
// decode function.
func (s *Store) List(bucket string, each func(key string, decode func(v any) error) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, data []byte) error {
			return each(string(k), func(v any) error { return json.Unmarshal(data, v) })
		})
	})
}
