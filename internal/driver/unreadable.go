package driver

import (
	"fmt"
	"slices"
)

// Records the plugin cannot decode (a disk fault, an edit by hand) do not
// stop it: it starts without them, says so, and keeps every link marked as
// its own, since the links of such a network cannot be told from orphans.
// `inspect` lists them. Docker's delete of one removes the record and the
// links marked with its ID.

// noteUnreadable remembers the keys of bucket's records that did not decode.
func (x *index) noteUnreadable(bucket string, keys []string) {
	for _, k := range keys {
		x.unreadable[bucket+"/"+k] = true
	}
}

// unreadableKeys lists the undecodable records as "bucket/key", sorted.
func (x *index) unreadableKeys() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	keys := make([]string, 0, len(x.unreadable))
	for k := range x.unreadable {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (x *index) isUnreadable(bucket, key string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.unreadable[bucket+"/"+key]
}

// forgetUnreadable deletes an undecodable record and the links marked with
// its ID, as Docker deletes the network or endpoint it was.
func (d *Driver) forgetUnreadable(x *index, bucket, id string) error {
	if err := d.store.Delete(bucket, id); err != nil {
		return fmt.Errorf("forget unreadable record %s/%s: %w", bucket, shortID(id), err)
	}
	x.mu.Lock()
	delete(x.unreadable, bucket+"/"+id)
	x.mu.Unlock()
	snap, err := d.kernel.Snapshot()
	if err != nil {
		return err
	}
	for _, o := range snap.Owned() {
		if o.Mark.ID != id {
			continue
		}
		if err := d.kernel.DeleteOwned(o.Name, o.Mark.Role, id); err != nil {
			return err
		}
	}
	d.log.Info("unreadable record deleted with its links", "record", bucket+"/"+shortID(id))
	return nil
}
