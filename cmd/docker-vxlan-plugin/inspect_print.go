package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"
)

// printAddresses lists the addresses this host's IPAM handed out.
func printAddresses(out io.Writer, rep report) {
	if len(rep.IPAM) == 0 {
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nPOOL\tRANGE\tGATEWAY\tBLOCKS HELD\tADDRESSES")
	for _, p := range rep.IPAM {
		addrs := make([]string, 0, len(p.Addresses))
		for _, a := range p.Addresses {
			addrs = append(addrs, a.Addr.String())
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Pool, p.Range, orDash(p.Gateway), prefixes(p.Blocks), orNone(strings.Join(addrs, " ")))
	}
	_ = w.Flush()
}

// printCluster shows this host's link to etcd and who holds what.
func printCluster(out io.Writer, rep report) {
	st := rep.Cluster
	if st == nil {
		return
	}
	state := "connected"
	if !st.Connected {
		state = "NOT connected: " + st.Error
	}
	fmt.Fprintf(out, "\ncluster node %s, etcd %s: %s\n", st.Node, strings.Join(st.Endpoints, ","), state)
	v := rep.ClusterView
	if v == nil {
		fmt.Fprintf(out, "cluster view unavailable: %s\n", rep.ClusterError)
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tLIVE\tVTEPS\tVNIS")
	for _, n := range v.Nodes {
		fmt.Fprintf(w, "%s\t%v\t%v\t%v\n", n.Name, n.Live, n.VTEPs, n.VNIs)
	}
	fmt.Fprintln(w, "\nPOOL\tCLAIM\tHELD BY")
	for _, p := range v.Pools {
		for _, c := range p.Claims {
			fmt.Fprintf(w, "%s\t%s\t%s\n", p.Pool, c.Prefix, c.Node)
		}
	}
	fmt.Fprintln(w, "\nENDPOINT\tVNI\tNODE\tMAC\tIPV4\tIPV6\tVTEP")
	for _, e := range v.Endpoints {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", short(e.ID), e.VNI, e.Node, e.MAC, orDash(e.IPv4), orDash(e.IPv6), e.VTEP)
	}
	_ = w.Flush()
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, 0, len(ps))
	for _, p := range ps {
		s = append(s, p.String())
	}
	return orNone(strings.Join(s, " "))
}

func orDash(a netip.Addr) string {
	if !a.IsValid() {
		return "-"
	}
	return a.String()
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
