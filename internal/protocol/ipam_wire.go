package protocol

// The IPAM driver's JSON bodies exactly as dockerd sends and expects them
// (libnetwork ipams/remote/api). Addresses and pools are strings: pools and
// returned addresses in CIDR notation, requested addresses bare. Errors are
// answered like the network driver's, with a non-200 status and {"Err": ...},
// which dockerd's plugin client reads before the body's own Error field.

type ipamCapabilitiesResponse struct {
	RequiresMACAddress    bool
	RequiresRequestReplay bool
}

type addressSpacesResponse struct {
	LocalDefaultAddressSpace  string
	GlobalDefaultAddressSpace string
}

type requestPoolRequest struct {
	AddressSpace string
	Pool         string
	SubPool      string
	Options      map[string]string
	V6           bool
}

type requestPoolResponse struct {
	PoolID string
	Pool   string
	Data   map[string]string `json:",omitempty"`
}

type releasePoolRequest struct {
	PoolID string
}

type requestAddressRequest struct {
	PoolID  string
	Address string
	Options map[string]string
}

type requestAddressResponse struct {
	Address string
	Data    map[string]string `json:",omitempty"`
}

type releaseAddressRequest struct {
	PoolID  string
	Address string
}
