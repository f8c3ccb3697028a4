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

# The engines the e2e suite runs on, in `make test` and `make e2e`: debian
# (Debian's dockerd 20.10) and newest (scripts/engines.sh).
E2E_ENGINES ?= debian newest
export E2E_ENGINES
.PHONY: e2e
e2e: ## the end-to-end suite only, on each of E2E_ENGINES (make e2e E2E_ENGINES=newest); root
	./scripts/test.sh e2e

.PHONY: faults
faults: build ## seeded fault injection against a real dockerd (SEED=, STEPS=, FAULTS_LONG=1); root
	bash test/e2e/80-faults.sh

bench: build ## performance figures (printed, not asserted); root
	./scripts/bench.sh
	./scripts/bench-cluster.sh
	./scripts/bench-scale.sh

image: build ## container image $(IMAGE), built by the engine $DOCKER_HOST points at
	docker build -t $(IMAGE) .

plugin: image ## managed plugin bundle in build/plugin/: config.json and the image's rootfs
	rm -rf build/plugin && mkdir -p build/plugin/rootfs
	cp contrib/plugin/config.json build/plugin/
	cid=$$(docker create $(IMAGE)) && docker export $$cid | tar -x -C build/plugin/rootfs; \
		rc=$$?; docker rm $$cid >/dev/null; exit $$rc

clean:
	rm -rf bin build

# --- install, uninstall, release ---------------------------------------------
PREFIX  ?= /usr/local
UNITDIR ?= /etc/systemd/system
STATEDIR := /var/lib/docker-vxlan-plugin
UNIT    := docker-vxlan-plugin.service
# systemctl is only asked to act on this machine's own systemd, when it runs.
SYSTEMD_RUNNING = [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null

.PHONY: install uninstall release

install: build ## binary, systemd unit, state directory (DESTDIR=, PREFIX=/usr/local)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/docker-vxlan-plugin
	mkdir -p build/systemd
	sed 's|/usr/local/bin/docker-vxlan-plugin|$(PREFIX)/bin/docker-vxlan-plugin|g' \
		contrib/systemd/$(UNIT) >build/systemd/$(UNIT)
	install -D -m 0644 build/systemd/$(UNIT) $(DESTDIR)$(UNITDIR)/$(UNIT)
	install -d -m 0700 $(DESTDIR)$(STATEDIR)
	@if $(SYSTEMD_RUNNING); then \
		echo "systemctl daemon-reload"; systemctl daemon-reload; \
		echo "installed; start it with: systemctl enable --now $(UNIT)"; \
	else echo "not reloading systemd (DESTDIR set, or systemd is not running)"; fi

uninstall: ## stop and disable the unit, remove what install put there; keeps the state
	@if $(SYSTEMD_RUNNING) && [ -e $(UNITDIR)/$(UNIT) ]; then \
		echo "systemctl disable --now $(UNIT)"; systemctl disable --now $(UNIT) || true; fi
	rm -f $(DESTDIR)$(PREFIX)/bin/docker-vxlan-plugin $(DESTDIR)$(UNITDIR)/$(UNIT)
	@if $(SYSTEMD_RUNNING); then echo "systemctl daemon-reload"; systemctl daemon-reload; fi
	@echo "kept $(DESTDIR)$(STATEDIR): the networks' state; remove it by hand to forget them"

release: ## static linux/amd64 and linux/arm64 binaries (and image, plugin) in build/release/
	GO=$(GO) IMAGE=$(IMAGE) ./scripts/release.sh
