package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// The store's own bucket: the schema version of the records, and the
// record of a damaged file this one replaced.
const (
	bucketMeta  = "meta"
	keySchema   = "schema"
	keyRecovery = "recovery"
	// Schema is the version of the record layout this build reads and
	// writes; a file from a newer build is refused, not misread.
	Schema = 1
)

// bbolt's meta page: a 16-byte page header, then magic, version, page
// size, flags, root bucket (16), freelist, high-water page id, txid, and a
// checksum of what precedes it.
const (
	boltMagic      = 0xED0CDAED
	metaOffset     = 16
	metaLen        = 64
	metaChecksumAt = 56
)

// metaSize reads the two meta pages and returns the size the newest valid
// one says the file has.
func metaSize(r io.ReaderAt) (int64, error) {
	var best struct{ txid, size int64 }
	found := false
	for _, pageSize := range []int64{0, 4096, 8192, 16384, 65536} { // meta 0 at 0, meta 1 one page further
		buf := make([]byte, metaLen)
		if _, err := r.ReadAt(buf, pageSize+metaOffset); err != nil {
			continue
		}
		le := binary.LittleEndian
		if le.Uint32(buf[0:]) != boltMagic {
			continue
		}
		h := fnv.New64a()
		h.Write(buf[:metaChecksumAt])
		if h.Sum64() != le.Uint64(buf[metaChecksumAt:]) {
			continue
		}
		ps, hwm, txid := int64(le.Uint32(buf[8:])), int64(le.Uint64(buf[40:])), int64(le.Uint64(buf[48:]))
		if !found || txid > best.txid {
			best.txid, best.size, found = txid, hwm*ps, true
		}
	}
	if !found {
		return 0, errors.New("no valid meta page")
	}
	return best.size, nil
}

// checkSchema records the schema of a new file and refuses a newer one.
func (s *Store) checkSchema() error {
	var v int
	found, err := s.Get(bucketMeta, keySchema, &v)
	switch {
	case err != nil:
		return err
	case !found:
		return s.Put(bucketMeta, keySchema, Schema)
	case v > Schema:
		return fmt.Errorf("state file has schema %d, written by a newer docker-vxlan-plugin (this one reads %d); refusing to misread it", v, Schema)
	}
	return nil
}
