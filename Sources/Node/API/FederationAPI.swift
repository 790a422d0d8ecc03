import Foundation
import Model
import Net
import Store
import Sync

/// The federation listener's routes (`/fed/v1/…`). Every request arrives over mutual TLS
/// with a client certificate that chains to the federation root, passes the CRL and names a
/// Party (`RequestContext.peerIdentity`): `whoami` (the connectivity check operators run
/// first), `certificates`, and replication (docs/sync.md): `deltas`, `streams`, `receipts`.
public final class FederationAPI: Sendable {
    public let node: OpenNode
    public let metrics: MetricsRegistry
    public let router: Router
    /// Replication, when the node runs it (nil: the replication routes answer 503).
    public let sync: SyncService?
    /// The metrics label of this listener.
    public static let listenerName = "federation"

    public init(node: OpenNode, metrics: MetricsRegistry = MetricsRegistry(), sync: SyncService? = nil, hub: HubService? = nil) {
        self.node = node
        self.metrics = metrics
        self.sync = sync
        let us = node.configuration
        @Sendable func peer(_ request: APIRequest) throws(APIProblem) -> String {
            guard let peer = request.context.peerIdentity else {
                throw APIProblem(status: 403, code: "federation.no_identity", detail: "the connection carries no verified Party identity")
            }
            return peer
        }
        @Sendable func service() throws(APIProblem) -> SyncService {
            guard let sync else { throw APIProblem(status: 503, code: "sync.unavailable", detail: "this node does not run replication") }
            return sync
        }
        router = Router(routes: [
            Route(.post, "/fed/v1/deltas") { request throws(APIProblem) in
                let peer = try peer(request)
                let sync = try service()
                let routing: DeltaRouting
                do throws(SyncError) {
                    routing = try DeltaRouting { name in request.http.headers.values(for: name).first }
                } catch {
                    // Not a delta at all: recorded and audited like any refusal (docs/sync.md).
                    try? sync.engine.store.recordRejection(DeltaRejection(peer: peer, stream: request.http.headers.values(for: "Fedtrace-Stream").first.map { String($0.prefix(300)) } ?? "-",
                                                                          sequence: 0, code: error.code, reason: error.reason,
                                                                          at: AuditLog.isoTime(Date())))
                    throw APIProblem.badRequest(error.code, error.reason)
                }
                switch sync.receive(sealed: request.http.body, routing: routing, peer: peer) {
                case .applied(let receipt, let position, _, _):
                    return HTTPResponse(status: 200, headers: ["Content-Type": "application/pkcs7-mime", "Fedtrace-Position": String(position)], body: receipt)
                case .refused(let error):
                    var members: JSONObject = ["stream": .string(routing.stream), "sequence": .number(String(routing.sequence))]
                    if let expected = error.expected { members["expected"] = .number(String(expected)) }
                    throw APIProblem(status: error.httpStatus, code: error.code, detail: error.reason, members: members)
                }
            },
            Route(.get, "/fed/v1/streams") { request throws(APIProblem) in
                let peer = try peer(request)
                let sync = try service()
                do {
                    var items: [JSONValue] = []
                    for position in try sync.engine.store.positions(origin: peer) {
                        var item: JSONObject = ["stream": .string(position.stream), "sequence": .number(String(position.sequence)),
                                                "deltaHash": .string(position.deltaHash)]
                        if let stopped = position.stopped { item["stopped"] = .string(stopped) }
                        if position.stopped == nil, let receipt = try sync.engine.receipt(forStream: position.stream) {
                            item["receipt"] = .string(Data(receipt).base64EncodedString())
                        }
                        items.append(.object(item))
                    }
                    return .json(.array(items))
                } catch {
                    throw APIProblem(status: 503, code: "sync.unavailable", detail: "the store did not answer")
                }
            },
            Route(.post, "/fed/v1/receipts") { request throws(APIProblem) in
                let peer = try peer(request)
                let sync = try service()
                do {
                    let receipt = try sync.engine.acceptReceipt(request.http.body, from: peer)
                    return .json(.object(["stream": .string(receipt.stream), "sequence": .number(String(receipt.sequence))]))
                } catch let error as SyncError {
                    throw APIProblem(status: 422, code: error.code, detail: error.reason)
                } catch {
                    throw APIProblem(status: 422, code: "receipt.invalid", detail: "the receipt could not be checked")
                }
            },
            Route(.post, "/fed/v1/mailbox/notify") { request throws(APIProblem) in
                // A hub says this node's mailbox there has mail: pull now (docs/hub.md §1).
                let peer = try peer(request)
                guard (try? PartyID(urn: peer))?.kind == .hub else {
                    throw APIProblem(status: 403, code: "relay.not-hub", detail: "only a hub notifies a mailbox")
                }
                let sync = try service()
                sync.wakeHub(peer)
                return HTTPResponse(status: 204)
            },
            Route(.get, "/fed/v1/certificates") { request throws(APIProblem) in
                _ = try peer(request)
                let sync = try service()
                let identity = sync.engine.identity
                return .json(.object(["party": .string(us.party.urn), "signing": .string(identity.signingCertificate.pemString),
                                      "sealing": .string(identity.sealingCertificate.pemString)]))
            },
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
        ] + (hub?.routes() ?? []) + DirectoryService.federationRoutes(node: node) + EnquiryAPI.federationRoutes(node: node))
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
