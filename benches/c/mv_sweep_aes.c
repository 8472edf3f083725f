/*
 * Bulk AES-128-GCM for benches/config-sweep: what MBEDTLS_AESNI_C changes. The handshake
 * and chain-verification workloads never touch AES (mbedTLS prefers ChaCha20-Poly1305
 * and verification only hashes), so AES-NI is measured on the work it does speed up:
 * sealing full 16 KiB TLS records. Compiled by the sweep against each variant's
 * libmbedtls_verify_c.a with that variant's defines.
 *
 *   mv_sweep_aes cg N         # N records; under callgrind only measured_work() is counted
 *   mv_sweep_aes time SECONDS # wall time: ns per record (after a 0.2 s warm-up)
 *
 * Prints "aesni: yes|no" (whether mbedTLS's AES-NI code ran) on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mbedtls/build_info.h"
#include "mbedtls/gcm.h"
#if defined(MBEDTLS_AESNI_C)
#include "aesni.h" /* library/: mbedtls_aesni_has_support() */
#endif

#define RECORD 16384

static unsigned char in[RECORD], out[RECORD], tag[16];

static void seal(mbedtls_gcm_context *gcm, unsigned long long seq)
{
    unsigned char iv[12] = { 0 };
    memcpy(iv + 4, &seq, sizeof(seq));
    int rc = mbedtls_gcm_crypt_and_tag(gcm, MBEDTLS_GCM_ENCRYPT, RECORD, iv, sizeof(iv),
                                       (const unsigned char *) "hdr13", 5, in, out,
                                       sizeof(tag), tag);
    if (rc != 0) {
        fprintf(stderr, "mv_sweep_aes: gcm: -0x%04x\n", (unsigned) -rc);
        exit(1);
    }
}

/* The only function counted under callgrind (--toggle-collect=measured_work). */
__attribute__((noinline)) void measured_work(mbedtls_gcm_context *gcm, unsigned long n)
{
    for (unsigned long i = 0; i < n; i++) {
        seal(gcm, i);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "cg") != 0 && strcmp(argv[1], "time") != 0)) {
        fprintf(stderr, "usage: mv_sweep_aes cg N | time SECONDS\n");
        return 2;
    }
    static const unsigned char key[16] = "mbedtls-verify!";
    for (size_t i = 0; i < RECORD; i++) {
        in[i] = (unsigned char) (i * 7);
    }
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    if (mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 128) != 0) {
        fprintf(stderr, "mv_sweep_aes: setkey failed\n");
        return 1;
    }
#if defined(MBEDTLS_AESNI_C) && defined(MBEDTLS_AESNI_HAVE_CODE)
    fprintf(stderr, "aesni: %s\n", mbedtls_aesni_has_support(MBEDTLS_AESNI_AES) ? "yes" : "no");
#else
    fprintf(stderr, "aesni: no\n");
#endif
    seal(&gcm, 0);
    if (strcmp(argv[1], "cg") == 0) {
        measured_work(&gcm, strtoul(argv[2], NULL, 10));
    } else {
        double seconds = atof(argv[2]), t0 = now();
        while (now() - t0 < 0.2) {
            seal(&gcm, 1);
        }
        unsigned long n = 0;
        t0 = now();
        double e;
        do {
            measured_work(&gcm, 16);
            n += 16;
            e = now() - t0;
        } while (e < seconds);
        printf("%.1f ns/record over %lu records\n", e * 1e9 / n, n);
    }
    mbedtls_gcm_free(&gcm);
    return 0;
}
