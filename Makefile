# Build and test entry points; the README documents each target.
GO      ?= go
BIN     := bin/docker-vxlan-plugin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
IMAGE   ?= docker-vxlan-plugin:dev

.PHONY: build test unit run bench image plugin clean

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

image: build ## container image $(IMAGE), built by the engine $DOCKER_HOST points at
	docker build -t $(IMAGE) .

plugin: image ## managed plugin bundle in build/plugin/: config.json and the image's rootfs
	rm -rf build/plugin && mkdir -p build/plugin/rootfs
	cp contrib/plugin/config.json build/plugin/
	cid=$$(docker create $(IMAGE)) && docker export $$cid | tar -x -C build/plugin/rootfs; \
		rc=$$?; docker rm $$cid >/dev/null; exit $$rc

clean:
	rm -rf bin build
