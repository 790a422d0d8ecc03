import Foundation
import Net

extension CertificateFolder {
    /// A mutual-TLS client to the federation listener of `peer` (a Party or hub URN) at
    /// `endpoint`: this node's transport certificate, the federation root and CRL, and a
    /// server certificate that must name `peer` (the one way every node-to-node client is made).
    func federationClient(to peer: String, endpoint: String, maxBodyBytes: Int = 64 << 20, connectTimeout: Duration = .seconds(5),
                          requestTimeout: Duration = .seconds(120), maxIdleConnections: Int = 2) throws -> HTTPClient {
        guard let address = ListenAddress(endpoint) else {
            throw NodeError(code: "peer.endpoint", reason: "endpoint '\(endpoint)' of \(peer) is not HOST:PORT")
        }
        var tls = TLSConfiguration.client(trustRootsFile: root, certificateChainFile: transportCertificate,
                                          privateKeyFile: transportKey, crlFile: crl)
        tls.peerIdentity = { certificate in
            FederationAPI.partyIdentity(certificate).flatMap { identity in
                identity == peer ? .success(identity)
                    : .failure(NodeError(code: "peer.identity", reason: "the server at \(endpoint) is \(identity), not \(peer)"))
            }
        }
        var limits = HTTPLimits.default
        limits.maxBodyBytes = maxBodyBytes
        return try HTTPClient(configuration: .init(host: address.host, port: Int(address.port), tls: tls, limits: limits,
                                                   connectTimeout: connectTimeout, requestTimeout: requestTimeout,
                                                   maxIdleConnections: maxIdleConnections))
    }
}
