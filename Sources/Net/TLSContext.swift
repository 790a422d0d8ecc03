internal import COpenSSL

/// One `SSL_CTX` built from a `TLSConfiguration`; it outlives every connection made from it.
/// Safe to share: OpenSSL contexts are thread-safe once configured, and this one is never
/// changed after `init`.
final class TLSContext: @unchecked Sendable {
    enum Role { case server, client }

    let context: OpaquePointer
    let role: Role
    let configuration: TLSConfiguration

    init(configuration: TLSConfiguration, role: Role) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError.drain("tls.context")
        }
        self.context = context
        self.role = role
        self.configuration = configuration

        guard fedtrace_SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION) == 1,
              fedtrace_SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION) == 1 else {
            throw TLSError.drain("tls.context", "cannot restrict to TLS 1.3")
        }

        if let chain = configuration.certificateChainFile {
            guard SSL_CTX_use_certificate_chain_file(context, chain) == 1 else {
                throw TLSError.drain("tls.certificate", "cannot load certificate chain")
            }
            guard let key = configuration.privateKeyFile,
                  SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError.drain("tls.private_key", "cannot load private key")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw TLSError.drain("tls.private_key", "private key does not match the certificate")
            }
        } else if role == .server {
            throw TLSError(code: "tls.certificate", reason: "a TLS server needs a certificate chain and key")
        }

        if let roots = configuration.trustRootsFile {
            guard SSL_CTX_load_verify_locations(context, roots, nil) == 1 else {
                throw TLSError.drain("tls.trust_roots", "cannot load trust roots")
            }
        }
        if let crlPath = configuration.crlFile {
            try Self.loadCRLs(from: crlPath, into: SSL_CTX_get_cert_store(context))
        }

        switch role {
        case .server:
            if configuration.requireClientCertificate {
                guard configuration.trustRootsFile != nil else {
                    throw TLSError(code: "tls.trust_roots", reason: "requiring client certificates needs trust roots")
                }
                SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            } else if configuration.trustRootsFile != nil {
                SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            } else {
                SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
            }
        case .client:
            guard configuration.trustRootsFile != nil else {
                throw TLSError(code: "tls.trust_roots", reason: "a TLS client needs trust roots to verify the server")
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        }
    }

    deinit { SSL_CTX_free(context) }

    private static func loadCRLs(from path: String, into store: OpaquePointer?) throws(TLSError) {
        guard let store, let bio = BIO_new_file(path, "r") else {
            throw TLSError.drain("tls.crl", "cannot open CRL file")
        }
        defer { BIO_free(bio) }
        var count = 0
        while let crl = PEM_read_bio_X509_CRL(bio, nil, nil, nil) {
            defer { X509_CRL_free(crl) }
            guard X509_STORE_add_crl(store, crl) == 1 else { throw TLSError.drain("tls.crl", "cannot add CRL") }
            count += 1
        }
        guard count > 0 else { throw TLSError.drain("tls.crl", "no CRL in file") }
        ERR_clear_error()  // the loop ends on a "no start line" error
        X509_STORE_set_flags(store, UInt(X509_V_FLAG_CRL_CHECK))
    }
}
