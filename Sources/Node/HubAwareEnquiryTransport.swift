import Foundation
import Core
import Crypto
import Model
import Net
import Store
import Sync

/// How enquiries and answers leave a Party node (docs/hub.md §1, §3): directly when the
/// recipient is a peer with an endpoint, else — or when the direct attempt fails for a reason
/// other than a refusal — as an `enquiry`/`answer` envelope through the hub the agreement's
/// relay clause names. The recipient's sealing certificate comes from the peers table or
/// from its verified directory entry.
public struct HubAwareEnquiryTransport: EnquiryTransport {
    let service: EnquiryService
    let direct: DirectEnquiryTransport

    public init(service: EnquiryService) {
        self.service = service
        self.direct = DirectEnquiryTransport(service: service)
    }

    var node: OpenNode { service.node }

    /// Hub refusals that mean "not yet" (docs/hub.md §1): an agreement not registered there,
    /// or a Party without a directory entry there.
    static let hubNotReady: Set<String> = ["relay.agreement", "relay.directory"]

    func directPeer(_ party: String) -> Peer? {
        (try? SyncStore(node.store).peers())?.first { $0.party == party && !$0.endpoint.isEmpty }
    }

    /// The hub peer that `agreement`'s relay clause names, if this node has it as a peer.
    func hub(for agreement: String) -> Peer? {
        guard let status = try? AgreementService(node: node).cachedStatuses().first(where: { $0.stored.hash == agreement && $0.isActive }),
              let hub = status.agreement.relay.viaHub else { return nil }
        return (try? SyncStore(node.store).peers())?.first { $0.party == hub.urn }
    }

    func hubPeers() -> [Peer] {
        ((try? SyncStore(node.store).peers()) ?? []).filter { (try? PartyID(urn: $0.party))?.kind == .hub }
    }

    func directoryEntry(_ party: String) -> VerifiedEntry? {
        guard let id = try? PartyID(urn: party) else { return nil }
        let directory = DirectoryService(node: node)
        if let entry = try? directory.entry(for: id) { return entry }
        _ = try? directory.refresh()
        return (try? directory.entry(for: id)) ?? nil
    }

    public func canReach(_ party: String) -> Bool {
        directPeer(party) != nil || (!hubPeers().isEmpty && directoryEntry(party) != nil)
    }

    public func sealingCertificate(for party: String) throws -> [UInt8] {
        if directPeer(party) != nil { return try direct.sealingCertificate(for: party) }
        guard let entry = directoryEntry(party) else {
            throw NodeError(code: "enquiry.no-route", reason: "no endpoint and no directory entry for \(party)")
        }
        return Array(entry.sealingCertificate.pemString.utf8)
    }

    public func deliver(_ envelope: EnquiryEnvelope) throws -> String {
        let recipient = envelope.routing.recipient
        if directPeer(recipient) != nil {
            do {
                return try direct.deliver(envelope)
            } catch let refusal as EnquiryDeliveryRefusal {
                throw refusal
            } catch {
                // Unreachable directly: through the hub, when the agreement allows it.
                guard hub(for: envelope.routing.agreement) != nil else { throw error }
            }
        }
        guard let hub = hub(for: envelope.routing.agreement) else {
            throw EnquiryDeliveryRefusal(code: "enquiry.no-route", reason: "no endpoint for \(recipient), and the agreement names no hub this node has as a peer",
                                         status: 0)
        }
        var headers: HTTPHeaders = ["Content-Type": "application/pkcs7-mime"]
        for (name, value) in envelope.routing.fields { headers.add(name: name, value: value) }
        let response = try direct.client(for: hub).send(HTTPRequest(method: .post, target: "/fed/v1/relay", headers: headers, body: envelope.body))
        switch response.status {
        case 202:
            return hub.party
        case 400...499:
            var code = "http.\(response.status)", detail = "status \(response.status)"
            if case .object(let o)? = try? JSONParser.parse(response.body) {
                if case .string(let c)? = o["code"] { code = c }
                if case .string(let d)? = o["detail"] { detail = d }
            }
            // Not known at the hub *yet*: the agreement is registered by each Party's hub
            // worker, and entries are published, on their own schedule. Retried with backoff
            // (the item stays in the outbox with this as its last error), not a refusal.
            if Self.hubNotReady.contains(code) {
                throw NodeError(code: "enquiry.hub-not-ready", reason: "\(hub.party): \(code): \(detail); retrying later")
            }
            throw EnquiryDeliveryRefusal(code: code, reason: "\(hub.party): \(detail)", status: response.status)
        default:
            throw NodeError(code: "enquiry.hub-unavailable", reason: "\(hub.party) answered \(response.status); retrying later")
        }
    }
}
