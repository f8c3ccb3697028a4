package store

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrDamaged marks a state file bbolt cannot safely open: truncated, or
// with pages it cannot read. Mapping such a file would crash the process
// (SIGBUS) at the first read past its end.
var ErrDamaged = errors.New("state file is damaged")

// Recovery says a damaged state file was moved aside and a new one started.
type Recovery struct {
	MovedTo string
	Reason  string
	At      time.Time
}

// OpenOrRecover opens the state file; a damaged one is moved aside (kept
// for the operator) and a new, empty one is started in its place. The
// caller must then keep every link marked as the plugin's: the records that
// accounted for them are gone.
func OpenOrRecover(path string) (*Store, *Recovery, error) {
	s, err := Open(path)
	if !errors.Is(err, ErrDamaged) {
		return s, nil, err
	}
	r := &Recovery{MovedTo: fmt.Sprintf("%s.damaged-%d", path, time.Now().Unix()), Reason: err.Error(), At: time.Now().UTC()}
	if err := os.Rename(path, r.MovedTo); err != nil {
		return nil, nil, fmt.Errorf("move damaged state file aside: %w", err)
	}
	if s, err = Open(path); err != nil {
		return nil, nil, err
	}
	if err := s.Put(bucketMeta, keyRecovery, r); err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, r, nil
}

// LastRecovery returns the record of the damaged file this store replaced,
// or nil; it stays until ClearRecovery.
func (s *Store) LastRecovery() (*Recovery, error) {
	var r Recovery
	found, err := s.Get(bucketMeta, keyRecovery, &r)
	if err != nil || !found {
		return nil, err
	}
	return &r, nil
}

// ClearRecovery forgets the damaged file's record.
func (s *Store) ClearRecovery() error { return s.Delete(bucketMeta, keyRecovery) }

// checkFile refuses a file shorter than its own meta page says it is,
// before bbolt maps it. An empty file is damage too: bbolt writes its meta
// pages when it creates the file, so an existing file of 0 bytes has lost
// whatever it recorded (bbolt would silently start it afresh).
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open state file %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat state file %s: %w", path, err)
	}
	if st.Size() == 0 {
		return fmt.Errorf("%w: %s is empty (0 bytes)", ErrDamaged, path)
	}
	need, err := metaSize(f)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	}
	if st.Size() < need {
		return fmt.Errorf("%w: %s is %d bytes, its meta page says %d (truncated)", ErrDamaged, path, st.Size(), need)
	}
	return nil
}

// checkPages walks every page of the open database. A fault reading the
// mapping becomes a panic here (not a crash), and is reported as damage.
func checkPages(db *bolt.DB) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %s: %v", ErrDamaged, db.Path(), p)
		}
	}()
	return db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			return fmt.Errorf("%w: %s: %v", ErrDamaged, db.Path(), e)
		}
		return nil
	})
}
