package links_test

import (
	"testing"

	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/links"
	"github.com/docker-vxlan-plugin/docker-vxlan-plugin/internal/netnstest"
)

// Links added and withdrawn by name, reading nothing: the elements come
// and go in both families and the rest stays; a withdrawal of what is not
// there is no error.
func TestForwardElementsByName(t *testing.T) {
	ns, k := firewallHost(t)
	allow(t, k, links.ForwardAdd, routed("vxbr-a"))
	layout := exception(t, ns, "ip")
	if err := k.AddForwardElements([]links.ForwardRule{bridge("vxgw-b"), internal("vxbr-i")}); err != nil {
		t.Fatal(err)
	}
	wantObjects(t, ns, [4][]string{
		{`"vxbr-a" : accept`, `"vxgw-b" : accept`},
		{`"vxbr-a" . "vxbr-a" : accept`, `"vxbr-i" . "vxbr-i" : accept`, `"vxgw-b" . "vxgw-b" : accept`},
		{`"vxbr-a" : drop`, `"vxbr-i" : drop`, `"vxgw-b" : drop`},
		{`"vxbr-i"`, `"vxgw-b"`},
	})
	for range 2 { // the second time there is nothing left to withdraw
		if err := k.WithdrawForward([]links.ForwardRule{bridge("vxgw-b"), internal("vxbr-i"), routed("vxbr-never")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, family := range []string{"ip", "ip6"} {
		if got := exception(t, ns, family); family == "ip" && got != layout {
			t.Errorf("after the withdrawals the exception is\n%s\nwant it as before the add:\n%s", got, layout)
		}
	}
}

// Where the exception is not laid out, the add fails, so that the caller
// lays it out (AllowForward); with no filter table at all as well, so
// that AllowForward says whether legacy iptables is why. A withdrawal
// there has nothing to do.
func TestForwardElementsWithoutMaps(t *testing.T) {
	ns, k := firewallHost(t)
	if err := k.AddForwardElements([]links.ForwardRule{bridge("vxbr-a")}); err == nil {
		t.Error("add to maps that are not laid out succeeded")
	}
	if got := elements(t, ns, "ip", "VXLAN-PLUGIN-vxlan-links"); got != nil {
		t.Errorf("a failed add left a map: %v", got)
	}
	bare := netnstest.New(t)
	kb, err := links.NewAt(bare.Handle(), "vxlan")
	if err != nil {
		t.Fatal(err)
	}
	defer kb.Close()
	if err := kb.AddForwardElements([]links.ForwardRule{bridge("vxbr-a")}); err == nil {
		t.Error("add with no filter table at all succeeded")
	}
	if err := kb.WithdrawForward([]links.ForwardRule{bridge("vxbr-a")}); err != nil {
		t.Errorf("withdrawal with no filter table: %v", err)
	}
	if out := bare.Must(t, "nft", "list", "ruleset"); out != "" {
		t.Errorf("the calls left a ruleset behind:\n%s", out)
	}
}
