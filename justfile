# Every recipe is a plain cargo command, also listed in the README: nobody needs `just`.

# The main job: a whole ESession between two in-process parties.
demo *ARGS:
    cargo run -p esession-cli -- demo {{ARGS}}

# Run every test (the README's test command; CI runs exactly this, in a copy of the
# repository with no ../shared beside it).
test:
    cargo test --workspace

# The conformance report: every vector file under vectors/, then "N passed, M failed, K skipped".
conformance:
    cargo run -p esession-conformance

# Re-derive our own vectors with the independent Python implementations, and check
# that vectors/specs/requirements.md is what the XEP XML sources give.
vectors:
    python3 vectors/tools/rederive_sigma.py
    python3 vectors/tools/rederive_online.py
    python3 vectors/tools/rederive_offline.py
    python3 vectors/tools/requirements.py --check

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

# Every fuzz target for 60 s, one after another (needs nightly and cargo-fuzz;
# fuzz/README.md says how to run longer).
fuzz:
    cd fuzz && for t in form_parser c_parser keyvalue_parser base64 mpi offline_alice online_alice online_bob; do cargo +nightly fuzz run $t corpus/$t seeds/$t -- -max_total_time=60 -rss_limit_mb=2048 -max_len=16384 || exit 1; done

# What CI runs.
ci:
    bash .ci/run

# OpenSSL against us in one run, with ratios, under both crypto providers (docs/performance.md).
# Needs gcc, pkg-config and libssl-dev (Debian: apt-get install gcc pkg-config libssl-dev) for the
# DH helper and the OpenSSL provider; prints Markdown tables.
compare:
    mkdir -p target
    cc -O2 -o target/openssl-modexp benches/openssl/modexp.c -lcrypto
    cargo build --release -p esession-benches --features openssl --bins
    target/release/compare --modexp target/openssl-modexp

# The crypto crate's tests, then the vector files, the negative suite and the Gajim replays
# (the sigma, online and conformance suites) with the OpenSSL provider as the process default.
test-openssl:
    cargo test -p esession-crypto --features openssl
    cargo test -p esession-crypto -p esession-sigma -p esession-wire -p esession-online -p esession-conformance --features esession-crypto/openssl-default
    cargo run -q -p esession-conformance --features esession-crypto/openssl-default
