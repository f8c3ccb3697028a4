// Package cluster is the control plane of cluster mode: the state hosts
// share, in etcd. It tells the driver who else is on a segment (Peers) and
// where their endpoints are (Remote), keeps one definition per VNI, and
// implements ipam.Claims, the shared half of the IPAM allocator.
//
// etcd is the control plane only. Nothing here blocks for longer than the
// operation timeout; while etcd is unreachable the last view stays, desired
// state is kept and written when etcd is back, and the driver's data path
// never depends on a call succeeding.
//
// # Keys
//
// Every key is under Config.Prefix (P below). Values are JSON objects with
// a version field "v" (1); a reader skips records of other versions.
// CIDRs in keys are written without their '/': 10.42.0.0/24 is
// 10.42.0.0-24. Node names and endpoint IDs are one key level each.
//
// Under the host's lease (gone when the host is, within its TTL):
//
//	P/nodes/<node>                  {"hostname","vteps"}: the host is live
//	P/members/<vni>/<node>          {"vtep"}: the host has the VNI (its flood entry)
//	P/endpoints/<vni>/<node>/<id>   {"mac","vtep","ipv4","ipv6"}: a container interface
//
// Persistent (liveness is not ownership):
//
//	P/segments/<vni>                {"subnets":[{"pool","gateway","aux"}],"creator"}: the VNI's definition
//	P/segment-users/<vni>/<node>    {}: the host has a network on the VNI
//	P/subnets/<pool>                {"vni","creator","aux"}: the VNI a subnet is on
//	P/pools/<pool>                  {"range","blockBits","gateway","aux","creator"}: ipam.PoolRecord
//	P/pool-users/<pool>/<node>      {}: the host uses the pool
//	P/claims/<pool>/<prefix>        {"node"}: the host holds a block or an address
//
// # Consistency
//
// Every change of shared records is one compare-and-swap transaction,
// retried on fresh data when it loses a race. A definition or pool record
// is removed only by a transaction that finds no user (and, for pools, no
// claim) under its prefix and the record unchanged, while adding a user
// compares the record's revision: a host joining and the last host
// leaving never both succeed. A subnet joins a VNI only if no subnet
// record changed since it was read.
//
// # Sessions
//
// Run keeps a session: a lease (kept if etcd still has it, else a new one),
// a full read of the lease-bound keys at one revision, the host's desired
// keys written under the lease, then a watch from that revision on. A
// watch error, compaction, lost lease or lost connection ends the session;
// the next starts with a full read that replaces the view, and the Handler
// hears of every VNI whose view changed. A replaced lease is revoked only
// after its keys are rewritten under the new one, so other hosts never see
// this host vanish on a reconnect or a plugin restart.
package cluster
