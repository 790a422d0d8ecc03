import Foundation
import Model
import Net

/// The federation listener's routes (`/fed/v1/…`). Every request arrives over mutual TLS
/// with a client certificate that chains to the federation root, passes the CRL and names a
/// Party (`RequestContext.peerIdentity`). Only `whoami` is served so far: the connectivity
/// check operators run before exchanging deltas.
public final class FederationAPI: Sendable {
    public let node: OpenNode
    public let metrics: MetricsRegistry
    public let router: Router
    /// The metrics label of this listener.
    public static let listenerName = "federation"

    public init(node: OpenNode, metrics: MetricsRegistry = MetricsRegistry()) {
        self.node = node
        self.metrics = metrics
        let us = node.configuration
        router = Router(routes: [
            Route(.get, "/fed/v1/whoami") { request throws(APIProblem) in
                guard let peer = request.context.peerIdentity else {
                    throw APIProblem(status: 403, code: "federation.no_identity", detail: "the connection carries no verified Party identity")
                }
                var object: JSONObject = [
                    "peer": .string(peer), "node": .string(us.party.urn), "role": .string(us.role.rawValue),
                ]
                if let subject = request.context.peerCertificate?.subject { object["peerCertificateSubject"] = .string(subject) }
                return .json(.object(object))
            },
        ])
    }

    /// Identity hook for the federation TLS configuration: the first SAN URI that is a valid
    /// Party or hub URN (`urn:fctc:party:XX`, `urn:fctc:hub:NAME`); a certificate without one
    /// is refused before any request is read.
    public static let partyIdentity: @Sendable (PeerCertificate) -> Result<String, any Error> = { certificate in
        for uri in certificate.uris where uri.hasPrefix("urn:fctc:") {
            if let party = try? PartyID(urn: uri) { return .success(party.urn) }
        }
        return .failure(NodeError(code: "federation.no_party_identity",
                                  reason: "peer certificate has no urn:fctc:party:XX or urn:fctc:hub:NAME SAN URI"))
    }

    /// The `HTTPHandler` for `HTTPServer`: routes and records metrics. Never throws.
    public func handle(_ request: HTTPRequest, _ context: RequestContext) -> HTTPResponse {
        let started = ContinuousClock.now
        let (response, route) = router.respond(to: request, context: context)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        metrics.record(listener: Self.listenerName, route: route, method: request.method.rawValue, status: response.status, seconds: seconds)
        return response
    }
}
