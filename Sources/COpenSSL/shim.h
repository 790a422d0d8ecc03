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
#include <openssl/hmac.h>

// SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl.
static inline int fedtrace_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_min_proto_version(ctx, version); }
// SSL_CTX_set_max_proto_version is a macro over SSL_CTX_ctrl.
static inline int fedtrace_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_max_proto_version(ctx, version); }
// BIO_set_mem_eof_return is a macro over BIO_ctrl (an empty memory BIO must mean "retry", not EOF).
static inline long fedtrace_BIO_set_mem_eof_return(BIO *bio, int value) { return BIO_set_mem_eof_return(bio, value); }
// SSL_set_tlsext_host_name is a macro over SSL_ctrl (SNI for the client).
static inline int fedtrace_SSL_set_tlsext_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }

// Typed STACK_OF accessors are macros over OPENSSL_sk_*; Swift cannot call them.
static inline STACK_OF(X509) *fedtrace_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int fedtrace_sk_X509_push(STACK_OF(X509) *stack, X509 *x) { return sk_X509_push(stack, x); }
static inline int fedtrace_sk_X509_num(const STACK_OF(X509) *stack) { return sk_X509_num(stack); }
static inline X509 *fedtrace_sk_X509_value(const STACK_OF(X509) *stack, int i) { return sk_X509_value(stack, i); }
// Frees the stack only; the certificates belong to someone else (sk_X509_free is a macro).
static inline void fedtrace_sk_X509_free(STACK_OF(X509) *stack) { sk_X509_free(stack); }
// Frees the stack and the certificates it owns (sk_X509_pop_free is a macro).
static inline void fedtrace_sk_X509_pop_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }
static inline int fedtrace_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
static inline GENERAL_NAME *fedtrace_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int i) { return sk_GENERAL_NAME_value(names, i); }
static inline int fedtrace_sk_X509_REVOKED_num(const STACK_OF(X509_REVOKED) *stack) { return sk_X509_REVOKED_num(stack); }
static inline X509_REVOKED *fedtrace_sk_X509_REVOKED_value(const STACK_OF(X509_REVOKED) *stack, int i) { return sk_X509_REVOKED_value(stack, i); }
static inline int fedtrace_sk_CMS_SignerInfo_num(const STACK_OF(CMS_SignerInfo) *stack) { return sk_CMS_SignerInfo_num(stack); }
static inline CMS_SignerInfo *fedtrace_sk_CMS_SignerInfo_value(const STACK_OF(CMS_SignerInfo) *stack, int i) { return sk_CMS_SignerInfo_value(stack, i); }
static inline int fedtrace_sk_CMS_RecipientInfo_num(const STACK_OF(CMS_RecipientInfo) *stack) { return sk_CMS_RecipientInfo_num(stack); }
static inline CMS_RecipientInfo *fedtrace_sk_CMS_RecipientInfo_value(const STACK_OF(CMS_RecipientInfo) *stack, int i) { return sk_CMS_RecipientInfo_value(stack, i); }
static inline int fedtrace_sk_CMS_RecipientEncryptedKey_num(const STACK_OF(CMS_RecipientEncryptedKey) *stack) { return sk_CMS_RecipientEncryptedKey_num(stack); }
static inline CMS_RecipientEncryptedKey *fedtrace_sk_CMS_RecipientEncryptedKey_value(const STACK_OF(CMS_RecipientEncryptedKey) *stack, int i) { return sk_CMS_RecipientEncryptedKey_value(stack, i); }
// BIO_get_mem_data is a macro over BIO_ctrl.
static inline long fedtrace_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
// OPENSSL_free is a macro that passes __FILE__/__LINE__ to CRYPTO_free.
static inline void fedtrace_OPENSSL_free(void *pointer) { OPENSSL_free(pointer); }

#endif
