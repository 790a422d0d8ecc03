/// How one side of a TLS connection is set up. TLS 1.3 only, always: there is no knob for
/// older versions. Paths point at PEM files; keys are read by OpenSSL and never held in
/// Swift memory.
public struct TLSConfiguration: Sendable {
    /// Our certificate, followed by any intermediates (PEM). Required for a server; for a
    /// client it enables mutual TLS.
    public var certificateChainFile: String?
    /// The private key of `certificateChainFile` (PEM).
    public var privateKeyFile: String?
    /// Roots the peer's chain must verify to (PEM, e.g. the federation `root.pem`).
    public var trustRootsFile: String?
    /// A CRL (PEM) checked against the peer's leaf certificate (`X509_V_FLAG_CRL_CHECK`).
    /// When set, a leaf whose issuer has no CRL in this file fails verification.
    public var crlFile: String?
    /// Server: refuse the handshake unless the client presents a certificate that verifies.
    /// Ignored by clients, which always verify the server.
    public var requireClientCertificate: Bool
    /// Turns a verified peer certificate into the identity handlers see (or refuses it).
    /// Runs after OpenSSL verified the chain, validity and CRL; the Node layer plugs its
    /// federation checks in here.
    public var peerIdentity: @Sendable (PeerCertificate) -> Result<String, any Error>
    /// Client only: the server name sent as SNI, if any.
    public var serverName: String?

    public init(
        certificateChainFile: String? = nil, privateKeyFile: String? = nil, trustRootsFile: String? = nil,
        crlFile: String? = nil, requireClientCertificate: Bool = true,
        peerIdentity: @escaping @Sendable (PeerCertificate) -> Result<String, any Error> = TLSConfiguration.fctcURIIdentity,
        serverName: String? = nil
    ) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.trustRootsFile = trustRootsFile
        self.crlFile = crlFile
        self.requireClientCertificate = requireClientCertificate
        self.peerIdentity = peerIdentity
        self.serverName = serverName
    }

    /// A server configuration: our chain and key, mutual TLS against `trustRootsFile`.
    public static func server(certificateChainFile: String, privateKeyFile: String, trustRootsFile: String?,
                              crlFile: String? = nil, requireClientCertificate: Bool = true) -> TLSConfiguration {
        TLSConfiguration(certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile,
                         trustRootsFile: trustRootsFile, crlFile: crlFile,
                         requireClientCertificate: requireClientCertificate)
    }

    /// A client configuration: verify the server against `trustRootsFile`, optionally
    /// presenting our own chain and key for mutual TLS.
    public static func client(trustRootsFile: String, certificateChainFile: String? = nil,
                              privateKeyFile: String? = nil, crlFile: String? = nil) -> TLSConfiguration {
        TLSConfiguration(certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile,
                         trustRootsFile: trustRootsFile, crlFile: crlFile)
    }

    /// The default identity: the first SAN URI under `urn:fctc:` (a Party or the hub).
    public static let fctcURIIdentity: @Sendable (PeerCertificate) -> Result<String, any Error> = { certificate in
        if let uri = certificate.uris.first(where: { $0.hasPrefix("urn:fctc:") }) { return .success(uri) }
        return .failure(TLSError(code: "tls.no_party_identity", reason: "peer certificate has no urn:fctc: SAN URI"))
    }
}
