package store

import (
	"errors"
	"path/filepath"
	"testing"
)

type rec struct{ A string }

func TestPutGetListDelete(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "sub", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var r rec
	if found, err := s.Get("b", "missing", &r); err != nil || found {
		t.Fatalf("Get on empty store = %v, %v; want not found", found, err)
	}
	for _, k := range []string{"x", "y"} {
		if err := s.Put("b", k, rec{A: k}); err != nil {
			t.Fatal(err)
		}
	}
	if found, err := s.Get("b", "x", &r); err != nil || !found || r.A != "x" {
		t.Fatalf("Get x = %+v, %v, %v", r, found, err)
	}
	if err := s.Delete("b", "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("b", "x"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	var keys []string
	err = s.List("b", func(k string, decode func(any) error) error {
		var r rec
		if err := decode(&r); err != nil {
			return err
		}
		keys = append(keys, k+"="+r.A)
		return nil
	})
	if err != nil || len(keys) != 1 || keys[0] != "y=y" {
		t.Fatalf("List = %v, %v; want [y=y]", keys, err)
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v; want ErrLocked", err)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("b", "k", rec{A: "v"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var r rec
	if found, err := s.Get("b", "k", &r); !found || err != nil || r.A != "v" {
		t.Fatalf("after reopen Get = %+v, %v, %v", r, found, err)
	}
}
