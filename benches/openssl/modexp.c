/*
 * OpenSSL's cost of the Diffie-Hellman operations esession performs, with the
 * same groups and the same exponent sizes: `openssl speed ffdh2048` cannot set
 * either (it uses RFC 7919 ffdhe2048 and OpenSSL's own ~224-bit exponents).
 *
 * For MODP group 5 (1536 bits) and 14 (2048 bits) from RFC 3526, and exponent
 * sizes L (RFC 3526 section 8 sizes as esession's `rfc3526` policy draws them,
 * and the width of p as its `full` policy processes them), this times
 * BN_mod_exp_mont_consttime -- what OpenSSL's DH_generate_key and
 * DH_compute_key call for a private exponent flagged BN_FLG_CONSTTIME -- for
 * g = 2 (key generation) and for a random base (shared secret), with the
 * Montgomery context prepared once, as DH caches it.
 *
 * Output, one line per case (CPU time of this process, like `openssl speed`):
 *   modexp <group> <exponent bits> <keygen|shared> <seconds per operation>
 *
 * Build: cc -O2 -o target/openssl-modexp benches/openssl/modexp.c -lcrypto
 * (Debian: apt-get install gcc libssl-dev). Usage: openssl-modexp [seconds per case]
 */
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int run(int group, BIGNUM *p, int exp_bits, int shared, double seconds) {
    BN_CTX *ctx = BN_CTX_new();
    BN_MONT_CTX *mont = BN_MONT_CTX_new();
    BIGNUM *x = BN_new(), *base = BN_new(), *r = BN_new();
    if (!ctx || !mont || !x || !base || !r || !BN_MONT_CTX_set(mont, p, ctx)) return 1;
    /* x: exactly exp_bits bits (top bit set), like esession's draws. */
    if (!BN_rand(x, exp_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY)) return 1;
    if (BN_cmp(x, p) >= 0 && !BN_sub(x, p, BN_value_one())) return 1;
    BN_set_flags(x, BN_FLG_CONSTTIME);
    if (shared) {
        if (!BN_rand_range(base, p)) return 1;
    } else if (!BN_set_word(base, 2)) {
        return 1;
    }
    long ops = 0;
    double start = cpu_now(), now = start;
    while (now - start < seconds) {
        for (int i = 0; i < 4; i++) {
            if (!BN_mod_exp_mont_consttime(r, base, x, p, ctx, mont)) return 1;
        }
        ops += 4;
        now = cpu_now();
    }
    printf("modexp %d %d %s %.9f\n", group, exp_bits, shared ? "shared" : "keygen",
           (now - start) / (double)ops);
    BN_free(x); BN_free(base); BN_free(r); BN_MONT_CTX_free(mont); BN_CTX_free(ctx);
    return 0;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    BIGNUM *p5 = BN_get_rfc3526_prime_1536(NULL);
    BIGNUM *p14 = BN_get_rfc3526_prime_2048(NULL);
    if (!p5 || !p14) return 1;
    /* group, prime, exponent bits: rfc3526 sizes (256 and 320), then full. */
    struct { int group; BIGNUM *p; int bits; } cases[] = {
        {5, p5, 256}, {5, p5, 1536}, {14, p14, 320}, {14, p14, 2048},
    };
    printf("# %s\n", OpenSSL_version(OPENSSL_VERSION));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int shared = 0; shared < 2; shared++) {
            if (run(cases[i].group, cases[i].p, cases[i].bits, shared, seconds)) {
                fprintf(stderr, "modexp: OpenSSL call failed\n");
                return 1;
            }
        }
    }
    BN_free(p5); BN_free(p14);
    return 0;
}
