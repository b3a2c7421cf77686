# Everything CI runs goes through here: `.ci/run` calls `make test`.
CARGO ?= cargo
DEMO_DIR ?= demo

.PHONY: all build test deps lint fmt demo bench clean-demo stress

all: build

build:
	$(CARGO) build --release --locked

# Installs what the tests need when it is missing (PostgreSQL 15 server and client, openssl),
# then runs every test: unit, CLI, interop (openssl, rustls-webpki), PostgreSQL end-to-end, doctests.
test: deps
	$(CARGO) test --locked

deps:
	@scripts/install-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# The main job on a fresh machine: a demo CA in ./$(DEMO_DIR), a server certificate for
# localhost, a client certificate for the role alice, and the inventory.
demo: build
	@scripts/demo.sh target/release/pgca $(DEMO_DIR)

clean-demo:
	rm -rf $(DEMO_DIR)

# pgca side by side with the openssl recipe; see bench/bench.sh for N and SAMPLE.
bench: build
	@bench/bench.sh

# More kill -9 rounds than make test runs (200 bulk issues and 200 renewals cut short).
stress:
	PGCA_STRESS_ROUNDS=200 $(CARGO) test --locked --release --test crash -- --nocapture
