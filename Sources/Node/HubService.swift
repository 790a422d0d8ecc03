import Foundation
import Core
import Crypto
import Model
import Net
import Policy
import Store
import Synchronization

/// The hub's store-and-forward relay (docs/hub.md §1): sealed messages between Parties wait
/// in one mailbox per recipient until the recipient pulls and acknowledges them, or their TTL
/// passes. The hub checks who may send what to whom under which registered agreement; it
/// never opens a body (it holds no key that could).
public final class HubService: Sendable {
    public static let kinds: Set<String> = ["delta", "receipt", "refusal", "enquiry", "answer"]
    /// How long an unacknowledged message waits (docs/hub.md: 14 days).
    public let ttl: TimeInterval
    public let node: OpenNode
    public let mailbox: MailboxStore
    let agreements: AgreementService
    /// The Parties the hub relays between: those with a valid entry in its directory.
    let directory: DirectoryService
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)
    private let log: @Sendable (String) -> Void
    private let notifier = DispatchQueue(label: "fedtrace.hub.notify")
    private let clients = Mutex<[String: HTTPClient]>([:])

    public init(node: OpenNode, ttl: TimeInterval = 14 * 86_400, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.node = node
        self.ttl = ttl
        self.mailbox = MailboxStore(node.store)
        self.agreements = AgreementService(node: node)
        self.directory = DirectoryService(node: node)
        self.log = log
    }

    /// Starts the expiry job (every minute).
    public func start() {
        started.store(true, ordering: .sequentiallyConsistent)
        let thread = Thread { [self] in
            var last = Date.distantPast
            while !stopped.load(ordering: .sequentiallyConsistent) {
                if Date().timeIntervalSince(last) >= 60 {
                    last = Date()
                    do {
                        let expired = try mailbox.purgeExpired()
                        if expired > 0 { log("relay: \(expired) messages expired unacknowledged") }
                    } catch { log("relay: expiry job failed: \(error)") }
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
            done.signal()
        }
        thread.name = "fedtrace-hub"
        thread.start()
    }

    /// Stops the expiry job and waits for a notification under way (at most its client's
    /// timeouts): once this returns, nothing of the hub's holds its node (and store) open.
    public func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        if started.exchange(false, ordering: .sequentiallyConsistent) { done.wait() }
        notifier.sync {}
        clients.withLock { $0.removeAll() }
    }

    func statuses(now: Date) throws -> [AgreementStatus] {
        try agreements.cachedStatuses(at: now)
    }

    /// Accepts one relay request from the TLS peer `peer` or says why not.
    public func relay(headers: HTTPHeaders, body: [UInt8], peer: String, now: Date = Date()) throws(APIProblem) -> Int64 {
        func refuse(_ status: Int, _ code: String, _ reason: String) -> APIProblem {
            try? mailbox.recordRefusal(origin: peer, code: code, reason: reason, now: now)
            return APIProblem(status: status, code: code, detail: reason)
        }
        func header(_ name: String) throws(APIProblem) -> String {
            guard let value = headers.values(for: name).first, !value.isEmpty, value.utf8.count <= 512 else {
                throw refuse(400, "relay.headers", "missing or oversized header \(name)")
            }
            return value
        }
        let kind = try header("Fedtrace-Kind")
        guard Self.kinds.contains(kind) else { throw refuse(400, "relay.headers", "Fedtrace-Kind must be one of \(Self.kinds.sorted().joined(separator: ", "))") }
        let messageID = try header("Fedtrace-Message-ID")
        let origin = try header("Fedtrace-Origin")
        guard origin == peer else { throw refuse(403, "relay.identity", "the TLS peer \(peer) cannot send as \(origin)") }
        let recipientText = try header("Fedtrace-Recipients")
        guard let recipient = try? PartyID(urn: recipientText), recipient.kind == .party else {
            throw refuse(400, "relay.headers", "Fedtrace-Recipients must name exactly one Party (urn:fctc:party:XX)")
        }
        let agreementHash = try header("Fedtrace-Agreement")
        var forwarded: [(String, String)] = [("Fedtrace-Kind", kind), ("Fedtrace-Message-ID", messageID), ("Fedtrace-Origin", origin),
                                             ("Fedtrace-Recipients", recipient.urn), ("Fedtrace-Agreement", agreementHash)]
        if kind == "delta" {
            let stream = try header("Fedtrace-Stream"), sequence = try header("Fedtrace-Sequence"), deltaID = try header("Fedtrace-Delta-ID")
            let deltaRecipients = try header("Fedtrace-Delta-Recipients")
            guard deltaID == messageID, stream.hasPrefix(origin + "/" + agreementHash + "/"), Int64(sequence).map({ $0 >= 1 }) == true else {
                throw refuse(400, "relay.headers", "a delta's Fedtrace-Delta-ID, Fedtrace-Stream and Fedtrace-Sequence must agree with its origin, agreement and message ID")
            }
            forwarded += [("Fedtrace-Stream", stream), ("Fedtrace-Sequence", sequence), ("Fedtrace-Delta-ID", deltaID),
                          ("Fedtrace-Delta-Recipients", deltaRecipients)]
        }
        guard !body.isEmpty else { throw refuse(400, "relay.body", "the body is empty") }
        // Both Parties must be in the directory, with an entry that verifies here and now.
        for party in [origin, recipient.urn] {
            let listed: Bool
            do { listed = try directory.entry(for: try PartyID(urn: party), now: now) != nil } catch {
                throw refuse(422, "relay.directory", "\(party) has no valid entry in this hub's directory")
            }
            guard listed else {
                throw refuse(422, "relay.directory", "\(party) has no valid entry in this hub's directory (fedtrace directory publish)")
            }
        }
        // The agreement: registered here, active, naming both Parties, and allowing relay via us.
        let status: AgreementStatus?
        do { status = try statuses(now: now).first { $0.stored.hash == agreementHash } } catch {
            throw APIProblem(status: 503, code: "relay.unavailable", detail: "the hub's store did not answer")
        }
        guard let status else {
            throw refuse(422, "relay.agreement", "agreement \(agreementHash) is not registered at this hub (POST /fed/v1/agreements)")
        }
        guard status.isActive else {
            throw refuse(422, "relay.agreement", "agreement \(status.agreement.id) v\(status.agreement.version) is \(status.state.rawValue) here")
        }
        let parties = Set(status.agreement.partyIDs.map(\.urn))
        guard parties.contains(origin), parties.contains(recipient.urn), origin != recipient.urn else {
            throw refuse(422, "relay.agreement", "agreement \(status.agreement.id) is not between \(origin) and \(recipient.urn)")
        }
        let verdict = Evaluation.mayRelay(via: node.configuration.party, agreement: status.agreement)
        guard verdict.permitted else { throw refuse(422, "relay.not-allowed", verdict.reason) }
        do {
            let (seq, new) = try mailbox.deposit(recipient: recipient.urn, kind: kind, messageID: messageID, origin: origin, agreement: agreementHash,
                                                 headers: forwarded, body: body, ttl: ttl, now: now)
            if new { notify(recipient) }
            return seq
        } catch {
            throw APIProblem(status: 503, code: "relay.unavailable", detail: "the message could not be stored; retry later")
        }
    }

    /// Tells `recipient` that its mailbox has mail (docs/hub.md §1): a bodiless
    /// `POST /fed/v1/mailbox/notify` to the endpoints of its directory entry, in the
    /// background, so it pulls at once instead of at its next poll. Best effort: a recipient
    /// that cannot be reached still finds the message when it pulls.
    func notify(_ recipient: PartyID) {
        notifier.async { [self] in
            guard !stopped.load(ordering: .sequentiallyConsistent), let entry = try? directory.entry(for: recipient) else { return }
            for endpoint in entry.endpoints where !stopped.load(ordering: .sequentiallyConsistent) {
                do {
                    let client = try client(for: recipient.urn, endpoint: endpoint)
                    let response = try client.send(HTTPRequest(method: .post, target: "/fed/v1/mailbox/notify"))
                    if response.status == 204 { return }
                } catch {
                    clients.withLock { _ = $0.removeValue(forKey: "\(recipient.urn)|\(endpoint)") }
                }
            }
        }
    }

    private func client(for party: String, endpoint: String) throws -> HTTPClient {
        let key = "\(party)|\(endpoint)"
        if let client = clients.withLock({ $0[key] }) { return client }
        guard let certificates = try CertificateFolder.load(at: node.directory.certificatesPath) else {
            throw NodeError(code: "relay.notify", reason: "no certificate folder at \(node.directory.certificatesPath)")
        }
        let client = try certificates.federationClient(to: party, endpoint: endpoint, maxBodyBytes: 1 << 20, connectTimeout: .seconds(2),
                                                       requestTimeout: .seconds(5), maxIdleConnections: 1)
        clients.withLock { $0[key] = client }
        return client
    }

    /// The federation routes a hub serves (in addition to `whoami` and the directory).
    func routes() -> [Route] {
        [
            Route(.post, "/fed/v1/relay") { [self] request throws(APIProblem) in
                let peer = try Self.peer(request)
                let seq = try relay(headers: request.http.headers, body: request.http.body, peer: peer)
                return .json(.object(["mailbox": .number(String(seq))]), status: 202)
            },
            Route(.get, "/fed/v1/mailbox") { [self] request throws(APIProblem) in
                let peer = try Self.peer(request)
                let query = Self.query(request.http.query)
                let after = query["after"].flatMap { Int64($0) } ?? 0
                let limit = min(max(query["limit"].flatMap { Int($0) } ?? 64, 1), 256)
                do {
                    let items: [JSONValue] = try mailbox.entries(recipient: peer, after: after, limit: limit).map { entry in
                        .object([
                            "seq": .number(String(entry.seq)), "kind": .string(entry.kind),
                            "headers": .object(JSONObject(entry.headers.map { JSONObject.Member(key: $0.0, value: .string($0.1)) })),
                            "body": .string(Data(entry.body).base64EncodedString()),
                        ])
                    }
                    return .json(.array(items))
                } catch {
                    throw APIProblem(status: 503, code: "relay.unavailable", detail: "the hub's store did not answer")
                }
            },
            Route(.post, "/fed/v1/mailbox/ack") { [self] request throws(APIProblem) in
                let peer = try Self.peer(request)
                guard case .object(let o)? = try? JSONParser.parse(request.http.body), case .number(let n)? = o["upTo"], let upTo = Int64(n) else {
                    throw APIProblem.badRequest("relay.ack", "the body must be {\"upTo\": n}")
                }
                do {
                    let deleted = try mailbox.acknowledge(recipient: peer, upTo: upTo)
                    return .json(.object(["deleted": .number(String(deleted))]))
                } catch {
                    throw APIProblem(status: 503, code: "relay.unavailable", detail: "the hub's store did not answer")
                }
            },
            Route(.post, "/fed/v1/agreements") { [self] request throws(APIProblem) in
                let peer = try Self.peer(request)
                guard case .object(let o)? = try? JSONParser.parse(request.http.body), let document = o["agreement"],
                      case .array(let list)? = o["signatures"] else {
                    throw APIProblem.badRequest("agreement.register", "the body must be {\"agreement\": {…}, \"signatures\": [\"<base64>\", …]}")
                }
                var signatures: [[UInt8]] = []
                for item in list {
                    guard case .string(let text) = item, let data = Data(base64Encoded: text) else {
                        throw APIProblem.badRequest("agreement.register", "signatures must be base64 CMS objects")
                    }
                    signatures.append(Array(data))
                }
                let bytes = JSONWriter.serialize(document)
                do {
                    let parsed = try Agreement.parse(bytes)
                    guard parsed.partyIDs.map(\.urn).contains(peer) else {
                        throw APIProblem(status: 403, code: "agreement.register", detail: "\(peer) is not a Party to agreement \(parsed.id)")
                    }
                    let (agreement, result) = try agreements.importAgreement(bytes, signatures: signatures)
                    return .json(.object(["hash": .string(agreement.hash), "new": .bool(result.newAgreement),
                                          "addedSignatures": .array(result.addedSignatures.map(JSONValue.string))]))
                } catch let problem as APIProblem {
                    throw problem
                } catch {
                    let reason = (error as? any CodedError).map { "\($0.code): \($0.reason)" } ?? "the agreement or a signature does not verify"
                    try? mailbox.recordRefusal(origin: peer, code: "agreement.register", reason: reason)
                    throw APIProblem(status: 422, code: "agreement.register", detail: reason)
                }
            },
        ]
    }

    static func peer(_ request: APIRequest) throws(APIProblem) -> String {
        guard let peer = request.context.peerIdentity else {
            throw APIProblem(status: 403, code: "federation.no_identity", detail: "the connection carries no verified Party identity")
        }
        return peer
    }

    static func query(_ text: Substring?) -> [String: String] {
        var out: [String: String] = [:]
        for pair in (text ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { out[String(parts[0])] = String(parts[1]).removingPercentEncoding }
        }
        return out
    }
}
