# Every recipe is a plain cargo command, also listed in the README: nobody needs `just`.

# The main job: a whole ESession between two in-process parties.
demo *ARGS:
    cargo run -p esession-cli -- demo {{ARGS}}

# Run every test (the README's test command; CI runs exactly this).
test:
    cargo test --workspace

# The conformance report: every vector file under vectors/, then "N passed, M failed, K skipped".
conformance:
    cargo run -p esession-conformance

# Re-derive our own vectors with the independent Python implementations.
vectors:
    python3 vectors/tools/rederive_sigma.py
    python3 vectors/tools/rederive_online.py

# Review insta snapshots.
snap:
    cargo insta review

# Criterion benchmarks (short run; drop --quick for full statistics).
bench:
    cargo bench -p esession-benches -- --quick

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Fuzz the wire parsers for 60 s each (needs nightly and cargo-fuzz).
fuzz:
    cd fuzz && cargo +nightly fuzz run form_parser -- -max_total_time=60
    cd fuzz && cargo +nightly fuzz run c_parser -- -max_total_time=60

# What CI runs.
ci:
    bash .ci/run

# OpenSSL against us in one run, with ratios (issue 8; docs/performance.md). Needs gcc and
# libssl-dev (Debian: apt-get install gcc libssl-dev) for the DH helper; prints Markdown tables.
compare:
    mkdir -p target
    cc -O2 -o target/openssl-modexp benches/openssl/modexp.c -lcrypto
    cargo build --release -p esession-benches --bins
    target/release/compare --modexp target/openssl-modexp
