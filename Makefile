# Build and test entry points; the README documents each target.
GO      ?= go
BIN     := bin/docker-vxlan-plugin
LDFLAGS := -s -w

.PHONY: build test unit run bench clean

build: ## static binary in bin/
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/docker-vxlan-plugin

run: build ## build and run the plugin on this host (root)
	./$(BIN) $(ARGS)

unit: ## unit and kernel (namespace) tests; root
	$(GO) test -count=1 ./...

test: ## the whole suite on a fresh machine: installs what it needs
	./scripts/test.sh

bench: build ## performance figures (printed, not asserted); root
	./scripts/bench.sh

clean:
	rm -rf bin build
