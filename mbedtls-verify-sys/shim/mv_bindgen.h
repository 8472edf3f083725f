/* Input of bindgen (feature `bindgen`): the shim, plus the few mbedTLS constants the
 * Rust crates use directly (verification flags, key usage bits, error codes, algorithm
 * identifiers). Those are stable across mbedTLS 3.6.x. */
#include "mv_shim.h"
#include "mbedtls/build_info.h"
#include "mbedtls/error.h"
#include "mbedtls/md.h"
#include "mbedtls/pk.h"
#include "mbedtls/ecp.h"
#include "mbedtls/x509.h"
#include "mbedtls/x509_crt.h"
#include "mbedtls/ssl.h"
