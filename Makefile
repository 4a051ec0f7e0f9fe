# Xinlian: the two commands a newcomer needs are `make run` and `make test`.
# Builds go to a target directory outside the clone, so a fresh clone rebuilds in seconds once
# RocksDB has been built once (10-14 minutes from clean on two cores).

export CARGO_TARGET_DIR ?= $(HOME)/.cache/xinlian/target
XINLIAN := $(CARGO_TARGET_DIR)/debug/xinlian
TESTNET_DIR ?= .xinlian-testnet
# Days of demo history before today, for the console's charts (docs/console.md).
HISTORY_DAYS ?= 21

.PHONY: deps build run run-tls test lint fmt check bench-trace bench-crypto bench-load bench-apply kill-campaign flood fuzz

deps:
	@scripts/install-deps.sh
	@scripts/link-target.sh
	@scripts/build-console.sh

# Local builds carry the testnet's fault switch (`testnet isolate|heal`); production builds do not.
FEATURES := --features xinlian-cli/fault-injection

build: deps
	cargo build --workspace $(FEATURES)

## The main job: a local chain loaded with demo data; prints where to look. Ctrl-C stops it.
run: build
	$(XINLIAN) testnet up --nodes 4 --demo --history-days $(HISTORY_DAYS) --dir $(TESTNET_DIR)

## The same demo over HTTPS with client certificates (a local CA in DIR/tls; docs/tls.md).
run-tls: build
	$(XINLIAN) testnet up --nodes 4 --demo --mtls --dir $(TESTNET_DIR)-tls

## The tests: unit, property, conformance (OpenSSL), real node processes, every criterion
## bench run once (`-- --test`) so the benches cannot rot, schemathesis against a node's own
## OpenAPI (scripts/schemathesis.sh), and promtool on the operators' alert rules (scripts/check-ops.sh).
test: deps
	cargo test --workspace $(FEATURES)
	cargo bench -p xinlian-benches --bench crypto -- --test
	cargo bench -p xinlian-benches --bench execute -- --test
	scripts/schemathesis.sh
	scripts/check-ops.sh

lint: deps
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings

fmt:
	cargo fmt --all

## What to run before pushing.
check: lint test

## The cold-chain benchmark (docs/BENCHMARKS.md): a release build in its own target directory,
## so the debug one stays warm; the first one compiles RocksDB again.
bench-trace: deps
	CARGO_TARGET_DIR=$(HOME)/.cache/xinlian/target-release cargo run --release -p xinlian-benches --features trace --bin trace-bench

## The signature benchmarks beside `openssl speed`, with the ratios (docs/BENCHMARKS.md).
bench-crypto: deps
	scripts/bench-crypto.sh

## The load generator against a 4-node testnet of release builds (docs/BENCHMARKS.md): starts
## one in .xinlian-bench, runs a pressure run per suite, stops it.
bench-load: deps
	scripts/bench-load.sh

## The apply path alone (docs/BENCHMARKS.md): the blocks a stopped node holds (by default those
## `make bench-load` left in .xinlian-bench/node1; NODE_DIR for another) replayed into fresh
## stores in one process, RUNS times (default 5): time per transaction and per stage.
bench-apply: deps
	CARGO_TARGET_DIR=$(HOME)/.cache/xinlian/target-release cargo run --release -p xinlian-benches --features trace --bin apply-bench -- $${NODE_DIR:-.xinlian-bench/node1} $${RUNS:-5}

## The long kill -9 campaign (docs/consensus.md): 100 SIGKILLs of a random node or the leader on a
## 4-node chain under SM2 load; `make test` runs the same test with 20. XINLIAN_KILL_SEED replays.
kill-campaign: deps
	XINLIAN_KILLS=$${XINLIAN_KILLS:-100} cargo test -p xinlian-cli $(FEATURES) --test it kill_campaign -- --nocapture

## One member floods the chain with large valid transactions while another's must still commit
## (cli/tests/it/flood.rs; also in `make test`), alone and with its output.
flood: deps
	cargo test -p xinlian-cli $(FEATURES) --test it flood -- --nocapture

## The coverage-guided fuzz targets (fuzz/, scripts/fuzz.sh): our SM2 verifier against the sm2
## crate's, the decoders of transactions, blocks and request bodies, and key and signature
## parsing. FUZZ_SECONDS per target; CI runs 30 each after `make test`.
FUZZ_SECONDS ?= 300
fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)
