#ifndef FEDTRACE_COPENSSL_SHIM_H
#define FEDTRACE_COPENSSL_SHIM_H
// Only what Swift cannot import from OpenSSL directly lives here: macros and
// macro-like helpers, each with a one-line reason.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/ssl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>

// SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl.
static inline int fedtrace_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_min_proto_version(ctx, version); }
// SSL_CTX_set_max_proto_version is a macro over SSL_CTX_ctrl.
static inline int fedtrace_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_max_proto_version(ctx, version); }
// BIO_set_mem_eof_return is a macro over BIO_ctrl (an empty memory BIO must mean "retry", not EOF).
static inline long fedtrace_BIO_set_mem_eof_return(BIO *bio, int value) { return BIO_set_mem_eof_return(bio, value); }
// SSL_set_tlsext_host_name is a macro over SSL_ctrl (SNI for the client).
static inline int fedtrace_SSL_set_tlsext_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }

#endif
