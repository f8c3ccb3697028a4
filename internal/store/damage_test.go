package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// filled writes a store big enough that its pages reach well past any
// truncation point below.
func filled(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if err := s.Put("networks", strings.Repeat("k", 8)+string(rune('a'+i%26))+string(rune('a'+i/26)), rec{A: strings.Repeat("x", 1000)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	return path
}

func TestTruncatedFileIsDamagedNotACrash(t *testing.T) {
	for _, size := range []int64{0, 100, 5000, 8192 + 100, 200_000} {
		path := filled(t)
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path)
		if !errors.Is(err, ErrDamaged) {
			if s != nil {
				s.Close()
			}
			t.Fatalf("truncated to %d bytes: Open = %v, want ErrDamaged", size, err)
		}
	}
}

func TestGarbageFileIsDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open(garbage) = %v, want ErrDamaged", err)
	}
}

func TestDamagedFileMovedAsideAndRemembered(t *testing.T) {
	path := filled(t)
	if err := os.Truncate(path, 5000); err != nil {
		t.Fatal(err)
	}
	s, r, err := OpenOrRecover(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r == nil || !strings.HasPrefix(r.MovedTo, path+".damaged-") {
		t.Fatalf("recovery = %+v, want the file moved aside", r)
	}
	if st, err := os.Stat(r.MovedTo); err != nil || st.Size() != 5000 {
		t.Fatalf("damaged file not kept as it was: %v", err)
	}
	var n int
	_ = s.List("networks", func(string, func(any) error) error { n++; return nil })
	if n != 0 {
		t.Fatalf("new store holds %d records, want none", n)
	}
	if got, err := s.LastRecovery(); err != nil || got == nil || got.MovedTo != r.MovedTo {
		t.Fatalf("LastRecovery = %+v, %v", got, err)
	}
	// An intact file opens as it is: positive control.
	s2, r2, err := OpenOrRecover(filled(t))
	if err != nil || r2 != nil {
		t.Fatalf("intact file: recovery %+v, err %v", r2, err)
	}
	s2.Close()
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(bucketMeta, keySchema, Schema+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema = %v, want a refusal", err)
	}
}
