// Package links is the plugin's kernel plumbing: it creates, marks, finds and
// deletes the bridge, vxlan and veth links the driver owns.
//
// Every link this package creates carries an ownership mark in its alias
// (IFLA_IFALIAS). Deletion and reuse go through the mark, so the plugin never
// takes over or removes an interface it did not create.
//
// All operations go through one netlink handle, bound to the network namespace
// the Kernel was made for. That lets tests drive several "hosts" (network
// namespaces) from one process without switching the OS thread's namespace.
package links
