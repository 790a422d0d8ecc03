internal import COpenSSL

/// One TLS connection over memory BIOs: ciphertext from the socket goes in with `feed`,
/// ciphertext for the socket comes out with `takeOutput`. OpenSSL never touches the file
/// descriptor, so every syscall stays in Net's `systemCall` helper and the session works
/// the same on blocking and non-blocking sockets. Confined to one thread at a time.
final class TLSSession {
    private let ssl: OpaquePointer
    private let input: OpaquePointer   // network → OpenSSL
    private let output: OpaquePointer  // OpenSSL → network
    let context: TLSContext            // keeps the SSL_CTX alive
    private(set) var isHandshakeComplete = false
    private(set) var peerCertificate: PeerCertificate?

    init(context: TLSContext) throws(TLSError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.context) else { throw TLSError.drain("tls.session") }
        guard let input = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.drain("tls.session")
        }
        _ = fedtrace_BIO_set_mem_eof_return(input, -1)
        _ = fedtrace_BIO_set_mem_eof_return(output, -1)
        SSL_set_bio(ssl, input, output)  // the SSL owns both BIOs from here
        self.ssl = ssl
        self.input = input
        self.output = output
        self.context = context
        if context.role == .server {
            SSL_set_accept_state(ssl)
        } else {
            if let name = context.configuration.serverName { _ = fedtrace_SSL_set_tlsext_host_name(ssl, name) }
            SSL_set_connect_state(ssl)
        }
    }

    deinit { SSL_free(ssl) }

    /// Hands ciphertext read from the socket to OpenSSL.
    func feed(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        _ = BIO_write(input, bytes.baseAddress, Int32(bytes.count))
    }

    /// Ciphertext OpenSSL wants sent, appended to `buffer`.
    func takeOutput(into buffer: inout [UInt8]) {
        let pending = BIO_ctrl_pending(output)
        guard pending > 0 else { return }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: Int(pending)))
        let read = buffer.withUnsafeMutableBytes { raw in
            BIO_read(output, raw.baseAddress! + start, Int32(pending))
        }
        buffer.removeLast(Int(pending) - Int(max(read, 0)))
    }

    var hasOutput: Bool { BIO_ctrl_pending(output) > 0 }

    /// Advances the handshake. Returns true once complete (peer verified and identified),
    /// false when it needs more input. Throws when OpenSSL or the identity hook refuses.
    func handshake() throws(TLSError) -> Bool {
        if isHandshakeComplete { return true }
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            try identifyPeer()
            isHandshakeComplete = true
            return true
        }
        let error = SSL_get_error(ssl, result)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return false }
        throw failure("tls.handshake")
    }

    /// Decrypts what is available into `buffer`. Returns false when the peer closed TLS.
    func read(into buffer: inout [UInt8]) throws(TLSError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            ERR_clear_error()
            let count = chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<Int(count)])
                continue
            }
            let error = SSL_get_error(ssl, count)
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return true }
            if error == SSL_ERROR_ZERO_RETURN { return false }
            throw failure("tls.read")
        }
    }

    /// Encrypts `bytes`; the ciphertext waits in the output BIO for `takeOutput`.
    func write(_ bytes: [UInt8]) throws(TLSError) {
        guard !bytes.isEmpty else { return }
        ERR_clear_error()
        let written = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        // A memory BIO grows, so a completed handshake writes everything at once.
        guard written == Int32(bytes.count) else { throw failure("tls.write") }
    }

    /// Queues a close_notify alert.
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    private func failure(_ code: String) -> TLSError {
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK, let text = X509_verify_cert_error_string(verify) {
            return TLSError.drain(code, "peer certificate refused: " + String(cString: text))
        }
        return TLSError.drain(code)
    }

    private func identifyPeer() throws(TLSError) {
        guard let x509 = SSL_get1_peer_certificate(ssl) else {
            if context.role == .client || context.configuration.requireClientCertificate {
                throw TLSError(code: "tls.no_peer_certificate", reason: "peer presented no certificate")
            }
            return
        }
        defer { X509_free(x509) }
        guard SSL_get_verify_result(ssl) == X509_V_OK else { throw failure("tls.handshake") }
        guard let certificate = PeerCertificate(x509: x509) else {
            throw TLSError.drain("tls.peer_certificate", "cannot encode peer certificate")
        }
        peerCertificate = certificate
        switch context.configuration.peerIdentity(certificate) {
        case .success(let identity):
            self.peerIdentity = identity
        case .failure(let error):
            throw TLSError(code: "tls.peer_identity", reason: "peer identity refused: \(error)")
        }
    }

    /// The identity the `peerIdentity` hook returned, nil without a peer certificate.
    private(set) var peerIdentity: String?
}
