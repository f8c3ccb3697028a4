package driver

import "fmt"

// An intent record says a network's links are being made. A CreateNetwork
// cut by kill -9 before its record leaves marked links no record accounts
// for; reconcile removes such orphans, except while the store records no
// network at all (a wrong --state must not cut running containers off).
// The intent tells that case apart: links marked with the ID of a network
// that has an intent and no record are the remains of a cut create, and go.
// Intents are only written while the store records no network: otherwise
// the orphans go anyway, and a create costs no extra write.
const bucketIntents = "creating"

// intent is what an intent record holds: the ID is its key.
type intent struct {
	V int `json:"v"` // format version
}

// noteCreating records the intent to create network id if the store
// records no network; done forgets it, once the create succeeded or was
// undone.
func (d *Driver) noteCreating(x *index, id string) (done func(), err error) {
	if n, _ := x.counts(); n > 0 {
		return func() {}, nil
	}
	if err := d.store.Put(bucketIntents, id, intent{V: 1}); err != nil {
		return nil, fmt.Errorf("record the intent to create network: %w", err)
	}
	return func() {
		if err := d.store.Delete(bucketIntents, id); err != nil {
			d.log.Warn("forget the intent to create network", "network", shortID(id), "err", err)
		}
	}, nil
}

// takeIntents returns the IDs of the networks whose create was cut, and
// forgets them.
func (d *Driver) takeIntents() map[string]bool {
	ids := map[string]bool{}
	err := d.store.List(bucketIntents, func(key string, _ func(any) error) error {
		ids[key] = true
		return nil
	})
	if err != nil {
		d.log.Warn("list the intents to create networks", "err", err)
	}
	for id := range ids {
		if err := d.store.Delete(bucketIntents, id); err != nil {
			d.log.Warn("forget the intent to create network", "network", shortID(id), "err", err)
		}
	}
	return ids
}
