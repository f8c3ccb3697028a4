package links

import "testing"

func TestProvisionalNames(t *testing.T) {
	k := &Kernel{driver: "vxlan"}
	name, err := k.provisionalName()
	if err != nil {
		t.Fatal(err)
	}
	if len(name) != 15 || !k.isProvisional(name) {
		t.Fatalf("provisionalName() = %q: want 15 characters this driver recognises", name)
	}
	other := &Kernel{driver: "vxlan2"}
	stem := ProvisionalStem("vxlan")
	for _, n := range []string{
		ProvisionalStem("vxlan2") + "deadbeef", // another instance's
		stem + "deadbee",                       // too short
		stem + "deadbeefa",                     // too long
		stem + "deadbeeg",                      // not hex
		"vxbr-" + stem[3:] + "dead",            // the plugin's other names
		"eth0",
	} {
		if k.isProvisional(n) {
			t.Errorf("isProvisional(%q) = true", n)
		}
	}
	if !other.isProvisional(ProvisionalStem("vxlan2") + "deadbeef") {
		t.Error("the other instance does not recognise its own provisional name")
	}
}
