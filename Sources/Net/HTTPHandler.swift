/// What a handler knows about the connection a request came on.
public struct RequestContext: Sendable {
    /// The identity `TLSConfiguration.peerIdentity` returned for the client certificate
    /// (e.g. `urn:fctc:party:UA`); nil on plaintext or without a client certificate.
    public let peerIdentity: String?
    /// The verified client certificate, when one was presented.
    public let peerCertificate: PeerCertificate?
    /// The peer's `address:port`, for logs and rate limits.
    public let remoteAddress: String
    /// Whether the request came over TLS.
    public let isSecure: Bool

    public init(peerIdentity: String?, peerCertificate: PeerCertificate?, remoteAddress: String, isSecure: Bool) {
        self.peerIdentity = peerIdentity
        self.peerCertificate = peerCertificate
        self.remoteAddress = remoteAddress
        self.isSecure = isSecure
    }
}

/// Answers one request. Synchronous by design: handlers run on the server's worker queue,
/// never on an event loop, so they may block on SQLite or a signing key without stalling
/// other connections (see docs/net.md, "Threading"). A thrown error becomes a 500 problem
/// report that does not echo the error, since it could carry secrets; map your own errors
/// to responses before returning.
public typealias HTTPHandler = @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse
