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

#endif
