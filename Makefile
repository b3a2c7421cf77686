# Everything CI runs goes through here: `.ci/run` calls `make test`.
CARGO ?= cargo
DEMO_DIR ?= demo

.PHONY: all build test deps lint fmt demo bench clean-demo stress fuzz man

all: build

build:
	$(CARGO) build --release --locked

# Installs what the tests need when it is missing (PostgreSQL 15 server and client, openssl),
# then runs every test: unit, CLI, interop (openssl, rustls-webpki), PostgreSQL end-to-end (on
# 15, then on 14 and 18), doctests.
# tests/pkilint.rs installs pkilint itself (scripts/pkilint-venv.sh, into target/pkilint-venv).
# tests/audit_reports.rs installs sarif-tools and the SARIF schema itself (scripts/sarif-venv.sh,
# into target/sarif-venv).
# tests/hierarchy_postgres.rs runs on 15 only, in the first pass, to keep CI's time: it passed on
# 14 and 18 when it was written (2026-12-01); run it there with PGCA_TEST_PG=14 or 18.
# tests/inventory_postgres.rs (the inventory in PostgreSQL, two serves, a failover) likewise runs
# on 15 only: it passed on 14 and 18 on 2026-12-03 (the failover test needs a pg_basebackup that
# can copy the server: npm's 18 has none, so there it says so and stops).
PG_TESTS = --test postgres --test probe --test guide --test csr_postgres --test host_install \
	--test pkcs11 --test conninfo --test jdbc --test rollover_postgres --test audit --test audit_live \
	--test audit_roles --test serve_postgres

test: deps
	$(CARGO) test --locked
	# Every test file that starts a PostgreSQL server, once more on the oldest and newest
	# supported majors (npm builds in target/pg, installed by make deps); 15 is Debian's, run above.
	for v in 14 18; do PGCA_TEST_PG=$$v $(CARGO) test --locked $(PG_TESTS) || exit 1; done
	# The fuzz targets are type-checked (not run, not linked: make fuzz builds and runs them) so
	# they cannot rot; a check rather than a build keeps 2.5 minutes of codegen out of CI.
	$(CARGO) check --locked --manifest-path fuzz/Cargo.toml --target-dir target --bins

deps:
	@scripts/install-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# Man pages from the same clap definitions as --help: target/man/pgca.1 and one page per
# command (pgca-init.1, pgca-service-add.1, ...); read one with man -l target/man/pgca-renew.1.
man:
	$(CARGO) run --locked --quiet --example man -- target/man

# The main job on a fresh machine: a demo CA in ./$(DEMO_DIR), a server certificate for
# localhost, a client certificate for the role alice, and the inventory; where PostgreSQL is
# installed, a throwaway cluster serving it and alice logging in over TLS 1.3 (tests/demo.rs).
demo: build
	@scripts/demo.sh target/release/pgca $(DEMO_DIR)

clean-demo:
	rm -rf $(DEMO_DIR)

# pgca side by side with the openssl recipe; see bench/bench.sh for N and SAMPLE.
bench: build
	$(CARGO) build --release --locked --example loadgen
	@bench/bench.sh

# More kill -9 rounds than make test runs (200 bulk issues and 200 renewals cut short).
stress:
	PGCA_STRESS_ROUNDS=200 $(CARGO) test --locked --release --test crash -- --nocapture

# Coverage-guided fuzzing of the pg_service.conf merger and of certificate/CRL/key import,
# FUZZ_SECONDS per target (libFuzzer, with the instrumentation cargo-fuzz would add); then
# pgca serve's API against docs/openapi.json (schemathesis, FUZZ_API_EXAMPLES cases per operation).
FUZZ_SECONDS ?= 60
# Cases per API operation for schemathesis in make fuzz (make test runs 40).
FUZZ_API_EXAMPLES ?= 1000
# An explicit target keeps the instrumentation out of build scripts and proc macros.
FUZZ_TARGET ?= $(shell rustc -vV | sed -n 's/^host: //p')
FUZZ_RUSTFLAGS = -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
	-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
	-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks
fuzz:
	cd fuzz && RUSTFLAGS="$(FUZZ_RUSTFLAGS)" CARGO_TARGET_DIR=../target/fuzz \
		$(CARGO) build --release --locked --bins --target $(FUZZ_TARGET)
	for t in service_file import; do \
		mkdir -p target/fuzz-corpus/$$t target/fuzz-artifacts; \
		target/fuzz/$(FUZZ_TARGET)/release/$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
			-artifact_prefix=target/fuzz-artifacts/$$t- target/fuzz-corpus/$$t fuzz/seeds/$$t || exit 1; \
	done
	# pgca serve's API against its OpenAPI document (schemathesis), many more cases than make test.
	PGCA_FUZZ_API_EXAMPLES=$(FUZZ_API_EXAMPLES) $(CARGO) test --locked --test api_fuzz -- --nocapture
