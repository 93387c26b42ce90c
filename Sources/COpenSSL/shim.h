#ifndef LAMBA_COPENSSL_SHIM_H
#define LAMBA_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/hmac.h>

// Macros and macro-like constants that Swift cannot import, as prefixed inline functions.
static inline void lamba_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline int lamba_BN_num_bytes(const BIGNUM *bn) { return BN_num_bytes(bn); }
static inline int lamba_RSA_PSS_SALTLEN_DIGEST(void) { return RSA_PSS_SALTLEN_DIGEST; }
static inline int lamba_EVP_PKEY_RSA(void) { return EVP_PKEY_RSA; }
static inline int lamba_EVP_PKEY_EC(void) { return EVP_PKEY_EC; }
static inline int lamba_EVP_PKEY_ED25519(void) { return EVP_PKEY_ED25519; }
static inline long lamba_BIO_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline int lamba_EVP_PKEY_KEYPAIR(void) { return EVP_PKEY_KEYPAIR; }
static inline int lamba_EVP_PKEY_PUBLIC_KEY(void) { return EVP_PKEY_PUBLIC_KEY; }
#endif
