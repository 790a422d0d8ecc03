import Foundation
import Core
import Crypto
import Model
import Net
import Policy
import Store
import Sync
import Synchronization

/// Replication at a running node (docs/sync.md): the cutter that turns captured events into
/// signed deltas, one push worker per peer, the retention purge, and the checks behind the
/// federation routes. Started by `NodeServer` when the node has its certificate folder.
///
/// Threads: one scheduler thread (cut every `tick`, purge every `purgeInterval`, pick up
/// peers added by `fedtrace peer add`) and one thread per peer, so a slow or dead peer
/// delays nobody else. All durable state is in the store; a restart resumes from it.
public final class SyncService: Sendable {
    public struct Settings: Sendable {
        /// How often the scheduler looks for deltas to cut.
        public var tick: Duration = .milliseconds(200)
        /// Deltas in flight per peer (pipelined on one connection).
        public var window: Int = 32
        /// Retention purge period.
        public var purgeInterval: TimeInterval = 60
        /// How often the scheduler looks for peers added by `fedtrace peer add`.
        public var peerRefreshInterval: TimeInterval = 2
        /// Retry delays after a failed connection: from `minBackoff`, doubling, at most `maxBackoff`, with jitter.
        public var minBackoff: TimeInterval = 0.25
        public var maxBackoff: TimeInterval = 30
        /// How long a stream waits before resending a delta its recipient refused.
        public var refusalBackoff: TimeInterval = 30
        /// After a direct push failed and deltas went through the hub, when to try direct again.
        public var directRetryInterval: TimeInterval = 30
        /// How often a hub worker refreshes the node's copy of the hub's directory.
        public var directoryRefreshInterval: TimeInterval = 300
        /// A stream relayed through the hub whose receipts stop advancing this long is relayed
        /// again from its acknowledged position (the hub keeps one copy per message ID).
        public var relayResendAfter: TimeInterval = 60
        public var limits = CutLimits()
        public init() {}

        /// The defaults with shorter waits, for a federation on one machine that should not
        /// wait (the demo, benchmarks, tests): the scheduler ticks every `tick`, looks for new
        /// peers every `peerRefresh`, cuts a delta once its oldest event is `maxDeltaAge` old,
        /// and retries a failed connection after `backoff.lowerBound` up to `backoff.upperBound`.
        public static func shortWaits(tick: Duration, peerRefresh: TimeInterval, maxDeltaAge: TimeInterval,
                                      backoff: ClosedRange<TimeInterval>) -> Settings {
            var settings = Settings()
            settings.tick = tick
            settings.peerRefreshInterval = peerRefresh
            settings.limits.maxAge = maxDeltaAge
            settings.minBackoff = backoff.lowerBound
            settings.maxBackoff = backoff.upperBound
            return settings
        }
    }

    public let node: OpenNode
    public let engine: SyncEngine
    public let settings: Settings
    let certificates: CertificateFolder
    let agreements: AgreementService
    private let log: @Sendable (String) -> Void
    private let state = Mutex(State())
    private let schedulerDone = DispatchSemaphore(value: 0)

    struct State {
        var stopped = false
        var workers: [String: PeerWorker] = [:]
        var hubWorkers: [String: HubWorker] = [:]
        var started = false
    }

    /// Loads the node's identity (certificate folder with signing and sealing keys).
    public init(node: OpenNode, settings: Settings = Settings(), log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        guard let certificates = try CertificateFolder.load(at: node.directory.certificatesPath) else {
            throw NodeError(code: "sync.no_certificates", reason: "replication needs the Party's certificate folder at \(node.directory.certificatesPath)")
        }
        let identity: PartyCertificateFolder
        do {
            identity = try PartyCertificateFolder.load(from: node.directory.certificatesPath, expectedParty: node.configuration.party.urn)
        } catch let error as CryptoError {
            throw NodeError(code: "sync.identity", reason: error.reason)
        }
        self.node = node
        self.certificates = certificates
        self.settings = settings
        self.log = log
        self.agreements = AgreementService(node: node)
        self.engine = SyncEngine(party: node.configuration.party, identity: identity, store: node.store, limits: settings.limits)
    }

    // MARK: - Agreements

    /// Agreement statuses, shared with the node's other services (`AgreementService.cachedStatuses`).
    func statuses(now: Date = Date()) throws -> [AgreementStatus] {
        try agreements.cachedStatuses(at: now)
    }

    /// The agreements active here now, for the cutter.
    public func activeAgreements(now: Date = Date()) throws -> [HeldAgreement] {
        try statuses(now: now).filter(\.isActive).map { HeldAgreement(agreement: $0.agreement, signedBy: $0.signedBy) }
    }

    /// The agreement with `hash` as held here, for the receiver's checks: nil when not stored;
    /// a `delta.agreement` refusal when stored but not active (superseded, terminated, unsigned).
    public func lookup(hash: String, now: Date = Date()) throws -> HeldAgreement? {
        guard let status = try statuses(now: now).first(where: { $0.stored.hash == hash }) else { return nil }
        guard status.isActive else {
            throw SyncError(code: "delta.agreement", reason: "agreement \(status.agreement.id) v\(status.agreement.version) is \(status.state.rawValue) here")
        }
        return HeldAgreement(agreement: status.agreement, signedBy: status.signedBy)
    }

    // MARK: - Receiving (called by the federation routes)

    /// Receives one sealed delta from the TLS peer `peer`.
    public func receive(sealed: [UInt8], routing: DeltaRouting, peer: String, relayedBy hub: String? = nil, now: Date = Date()) -> ReceiveOutcome {
        let outcome = engine.receive(sealed: sealed, routing: routing, tlsPeer: peer, relayedBy: hub, now: now) { hash in try lookup(hash: hash, now: now) }
        if case .refused(let error) = outcome, error.code != "delta.gap" {
            log("refused delta \(routing.sequence) of \(routing.stream) from \(peer): \(error.code): \(error.reason)")
        }
        return outcome
    }

    // MARK: - Running

    /// Starts the scheduler thread (which starts the peer workers).
    public func start() {
        let thread = Thread { [self] in
            schedule()
            schedulerDone.signal()
        }
        thread.name = "fedtrace-sync"
        state.withLock { $0.started = true }
        thread.start()
    }

    /// Stops the scheduler and every worker; returns when they have finished their current step.
    public func stop() {
        let (workers, hubWorkers, started) = state.withLock { state -> ([PeerWorker], [HubWorker], Bool) in
            state.stopped = true
            defer { state.started = false }
            return (Array(state.workers.values), Array(state.hubWorkers.values), state.started)
        }
        if started { schedulerDone.wait() }
        for worker in workers { worker.stop() }
        for worker in hubWorkers { worker.stop() }
        for worker in workers { worker.join() }
        for worker in hubWorkers { worker.join() }
        // Each worker holds this service: without this the pair outlived the node server
        // and kept the node's store open for the rest of the process.
        state.withLock { state in
            state.workers.removeAll()
            state.hubWorkers.removeAll()
        }
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Cuts what is due now and wakes the workers; `flush` cuts partial deltas at once.
    @discardableResult
    public func cutNow(flush: Bool = false) throws -> Int {
        let made = try engine.cut(agreements: try activeAgreements(), flush: flush)
        if !made.isEmpty { for worker in state.withLock({ Array($0.workers.values) }) { worker.wake() } }
        return made.count
    }

    private func schedule() {
        var lastPurge = Date.distantPast
        var lastPeers = Date.distantPast
        while !isStopped {
            let now = Date()
            if now.timeIntervalSince(lastPeers) >= settings.peerRefreshInterval {
                lastPeers = now
                refreshWorkers()
            }
            do { try cutNow() } catch { log("cutting deltas failed: \(error)") }
            if now.timeIntervalSince(lastPurge) >= settings.purgeInterval {
                lastPurge = now
                do {
                    for batch in try engine.store.purgeExpired(now: now) {
                        log("retention: deleted \(batch.deleted) events received from \(batch.origin)")
                    }
                } catch { log("retention purge failed: \(error)") }
            }
            Thread.sleep(forTimeInterval: Double(settings.tick.components.seconds) + Double(settings.tick.components.attoseconds) / 1e18)
        }
    }

    private func refreshWorkers() {
        guard var peers = try? engine.store.peers() else { return }
        // A recipient with no `peer add` entry is reached through the hub (docs/hub.md §1).
        if peers.contains(where: { Self.isHub($0.party) }), let streams = try? engine.store.outboundStreams() {
            let known = Set(peers.map(\.party))
            for recipient in Set(streams.flatMap(\.recipients)).subtracting(known).sorted() {
                peers.append(Peer(party: recipient, endpoint: "", sealingCertificate: nil, addedAt: "", lastSeen: nil, lastError: nil, lastErrorAt: nil))
            }
        }
        state.withLock { state in
            guard !state.stopped else { return }
            for peer in peers {
                if Self.isHub(peer.party) {
                    guard state.hubWorkers[peer.party] == nil else { continue }
                    let worker = HubWorker(service: self, hub: peer.party)
                    state.hubWorkers[peer.party] = worker
                    worker.start()
                } else if state.workers[peer.party] == nil {
                    let worker = PeerWorker(service: self, party: peer.party)
                    state.workers[peer.party] = worker
                    worker.start()
                }
            }
        }
    }

    /// A TLS client for `peer` at `endpoint`: our transport certificate, the federation root
    /// and CRL, and a server certificate that must name `peer`.
    func client(for peer: String, endpoint: String) throws -> HTTPClient {
        try certificates.federationClient(to: peer, endpoint: endpoint, connectTimeout: .seconds(5), requestTimeout: .seconds(120))
    }

    func record(_ message: String) { log(message) }

    static func isHub(_ urn: String) -> Bool { (try? PartyID(urn: urn))?.kind == .hub }

    /// The hub this node relays through for `agreement`: a hub peer its relay clause names.
    func relayHub(for agreementHash: String, now: Date = Date()) -> Peer? {
        guard let held = try? statuses(now: now).first(where: { $0.stored.hash == agreementHash && $0.isActive }),
              let hub = held.agreement.relay.viaHub,
              Evaluation.mayRelay(via: hub, agreement: held.agreement).permitted else { return nil }
        return try? engine.store.peers().first { $0.party == hub.urn }
    }

    /// Wakes the hub workers (after a push through the hub, or a relayed receipt to send).
    func wakeHubs() { for worker in state.withLock({ Array($0.hubWorkers.values) }) { worker.wake() } }

    /// Wakes the worker of `hub` (its mailbox has mail).
    public func wakeHub(_ hub: String) { state.withLock { $0.hubWorkers[hub] }?.wake() }

    /// Sends one relay envelope to `hub` (docs/hub.md §1). Returns the mailbox sequence.
    func relay(via hub: Peer, client: HTTPClient, headers: [(String, String)], body: [UInt8]) throws -> Int64 {
        try relay(via: hub, client: client, envelopes: [(headers, body)])[0]
    }

    /// Sends several relay envelopes pipelined; throws on the first refusal.
    func relay(via hub: Peer, client: HTTPClient, envelopes: [(headers: [(String, String)], body: [UInt8])]) throws -> [Int64] {
        let requests = envelopes.map { envelope -> HTTPRequest in
            var fields: HTTPHeaders = ["Content-Type": "application/pkcs7-mime"]
            for (name, value) in envelope.headers { fields.add(name: name, value: value) }
            return HTTPRequest(method: .post, target: "/fed/v1/relay", headers: fields, body: envelope.body)
        }
        var out: [Int64] = []
        for response in try client.send(pipelined: requests) {
            guard response.status == 202, let seq = PeerWorker.member("mailbox", of: response.body).flatMap(Int64.init) else {
                let code = PeerWorker.member("code", of: response.body) ?? "http.\(response.status)"
                throw NodeError(code: "relay.refused", reason: "\(hub.party) refused to relay: \(code): \(PeerWorker.member("detail", of: response.body) ?? "")")
            }
            out.append(seq)
        }
        return out
    }
}

/// Works with one hub peer (docs/hub.md §1): registers the agreements that name it for
/// relay, pulls this node's mailbox, hands each message to the code that serves the direct
/// route (a relayed delta is applied as if pushed, then its signed receipt goes back through
/// the hub), and acknowledges what it processed durably.
final class HubWorker: Sendable {
    let service: SyncService
    let hub: String
    private let thread = WorkerThread()

    init(service: SyncService, hub: String) {
        self.service = service
        self.hub = hub
    }

    func start() { thread.start(name: "fedtrace-hub-peer") { [self] in run() } }
    func wake() { thread.wake() }
    func stop() { thread.stop() }
    func join() { thread.join() }
    private var isStopped: Bool { thread.isStopped }
    private func pause(_ seconds: TimeInterval) { thread.pause(seconds) }

    private func run() {
        let store = service.engine.store
        var backoff = service.settings.minBackoff
        var registered = Set<String>()
        var client: (endpoint: String, client: HTTPClient)?
        var lastDirectoryRefresh = Date.distantPast
        while !isStopped {
            do {
                guard let peer = try store.peers().first(where: { $0.party == hub }) else { return }
                // The directory (docs/hub.md §2): who the Parties are, their sealing certificates.
                if Date().timeIntervalSince(lastDirectoryRefresh) >= service.settings.directoryRefreshInterval {
                    lastDirectoryRefresh = Date()
                    _ = try? DirectoryService(node: service.node).refresh()
                }
                if client?.endpoint != peer.endpoint {
                    client = (peer.endpoint, try service.client(for: hub, endpoint: peer.endpoint))
                }
                let http = client!.client
                try register(http, registered: &registered)
                let processed = try pull(http, peer: peer)
                try store.recordPeerSeen(hub)
                backoff = service.settings.minBackoff
                if processed == 0 { pause(1) }
            } catch {
                let reason = (error as? any CodedError).map { "\($0.code): \($0.reason)" } ?? "\(error)"
                try? store.recordPeerError(hub, error: reason)
                client?.client.closeIdleConnections()
                pause(min(backoff * Double.random(in: 0.5...1.5), service.settings.maxBackoff))
                backoff = min(backoff * 2, service.settings.maxBackoff)
            }
        }
    }

    /// Registers each active agreement whose relay clause names this hub (once per run).
    private func register(_ http: HTTPClient, registered: inout Set<String>) throws {
        for status in try service.statuses() where status.isActive && status.agreement.relay.viaHub?.urn == hub && !registered.contains(status.stored.hash) {
            let signatures = try service.agreements.store.signatures(of: status.stored.hash).map { JSONValue.string(Data($0.cms).base64EncodedString()) }
            guard case .object(var document)? = try? JSONParser.parse(status.stored.body) else { continue }
            document["signatures"] = .array([])
            let body = JSONWriter.serialize(.object(["agreement": .object(document), "signatures": .array(signatures)]))
            let response = try http.send(HTTPRequest(method: .post, target: "/fed/v1/agreements", headers: ["Content-Type": "application/json"], body: body))
            guard response.status == 200 else {
                throw NodeError(code: "relay.register", reason: "\(hub) refused agreement \(status.agreement.id): \(PeerWorker.member("detail", of: response.body) ?? "status \(response.status)")")
            }
            registered.insert(status.stored.hash)
        }
    }

    /// Pulls and processes one page of the mailbox; returns how many entries it handled.
    private func pull(_ http: HTTPClient, peer: Peer) throws -> Int {
        let response = try http.send(HTTPRequest(method: .get, target: "/fed/v1/mailbox?after=0&limit=64"))
        var limits = JSONParser.Limits()
        limits.maxStringBytes = 64 << 20  // base64 bodies: a delta may be several MiB
        guard response.status == 200, case .array(let items)? = try? JSONParser.parse(response.body, limits: limits) else {
            throw NodeError(code: "relay.mailbox", reason: "\(hub) did not return the mailbox (status \(response.status))")
        }
        var last: Int64 = 0
        for item in items {
            guard case .object(let o) = item, case .number(let n)? = o["seq"], let seq = Int64(n),
                  case .string(let kind)? = o["kind"], case .object(let headerObject)? = o["headers"],
                  case .string(let encoded)? = o["body"], let body = Data(base64Encoded: encoded) else { continue }
            var headers: [String: String] = [:]
            for member in headerObject.members { if case .string(let v) = member.value { headers[member.key] = v } }
            try handle(kind: kind, headers: headers, body: Array(body), http: http, peer: peer)
            last = seq
        }
        if last > 0 {
            let ack = try http.send(HTTPRequest(method: .post, target: "/fed/v1/mailbox/ack", headers: ["Content-Type": "application/json"],
                                                body: JSONWriter.serialize(.object(["upTo": .number(String(last))]))))
            guard ack.status == 200 else { throw NodeError(code: "relay.ack", reason: "\(hub) refused the acknowledgement (status \(ack.status))") }
        }
        return items.count
    }

    /// Dispatches one relayed message. Anything this node cannot use is recorded (the
    /// receiver's refusal is audited by the engine) and acknowledged, so one bad message
    /// never blocks the mailbox.
    private func handle(kind: String, headers: [String: String], body: [UInt8], http: HTTPClient, peer: Peer) throws {
        let origin = headers["Fedtrace-Origin"] ?? ""
        switch kind {
        case "delta":
            var routingHeaders = headers
            routingHeaders[DeltaRouting.headerNames.recipients] = headers["Fedtrace-Delta-Recipients"]
            let routing: DeltaRouting
            do { routing = try DeltaRouting { routingHeaders[$0] } } catch {
                service.record("relayed delta from \(origin) via \(hub) has no usable routing header: \(error.reason)")
                return
            }
            switch service.receive(sealed: body, routing: routing, peer: hub, relayedBy: hub) {
            case .applied(let receipt, _, _, _):
                // The signed receipt goes back to the origin through the hub.
                let agreement = StreamName(routing.stream)?.agreementHash ?? ""
                _ = try service.relay(via: peer, client: http, headers: [
                    ("Fedtrace-Kind", "receipt"), ("Fedtrace-Message-ID", "urn:fedtrace:receipt:\(SHA256.hexHash(receipt))"),
                    ("Fedtrace-Origin", service.engine.party.urn), ("Fedtrace-Recipients", routing.origin), ("Fedtrace-Agreement", agreement),
                ], body: receipt)
            case .refused(let error):
                if error.code == "sync.unavailable" { throw error }
                guard error.code != "delta.gap" else { return }
                // The origin learns why, as it would from a direct push: a signed refusal notice back through the hub.
                let notice = JSONWriter.serialize(.object([
                    "about": "delta", "stream": .string(routing.stream), "sequence": .number(String(routing.sequence)),
                    "deltaID": .string(routing.deltaID), "code": .string(error.code), "reason": .string(String(error.reason.prefix(500))),
                    "from": .string(service.engine.party.urn),
                ]))
                let signed = try CMS.sign(notice, signer: service.engine.identity.signingCertificate, key: service.engine.identity.signingKey)
                _ = try service.relay(via: peer, client: http, headers: [
                    ("Fedtrace-Kind", "refusal"), ("Fedtrace-Message-ID", "urn:fedtrace:refusal:\(SHA256.hexHash(signed))"),
                    ("Fedtrace-Origin", service.engine.party.urn), ("Fedtrace-Recipients", routing.origin),
                    ("Fedtrace-Agreement", StreamName(routing.stream)?.agreementHash ?? ""),
                ], body: signed)
            }
        case "refusal":
            // A recipient refused one of our messages after a relay: verify who says so, then
            // show it like a direct refusal (a delta's stream error; an enquiry's status).
            do {
                let verified = try CMS.verify(body, trust: service.engine.identity.trust, expectedSigner: origin)
                if case .object(let o)? = try? JSONParser.parse(verified.content), let about = o["about"]?.stringValue, about == "enquiry" || about == "answer" {
                    guard let id = o["messageID"]?.stringValue, let code = o["code"]?.stringValue, let reason = o["reason"]?.stringValue else {
                        service.record("relayed refusal notice from \(origin) via \(hub) names no \(about)")
                        return
                    }
                    let enquiries = try EnquiryService.shared(for: service.node)
                    if try enquiries.store.recordRefusalNotice(kind: about, enquiryID: id, peer: origin, code: code, reason: String(reason.prefix(500)), via: hub) {
                        service.record("\(origin) refused \(about) \(id) (via \(hub)): \(code): \(reason)")
                    }
                    return
                }
                guard case .object(let o)? = try? JSONParser.parse(verified.content), o["about"]?.stringValue == "delta",
                      let stream = o["stream"]?.stringValue, StreamName(stream)?.origin == service.engine.party,
                      let code = o["code"]?.stringValue, let reason = o["reason"]?.stringValue else {
                    service.record("relayed refusal notice from \(origin) via \(hub) is not about one of our deltas")
                    return
                }
                let sequence = { if case .number(let n)? = o["sequence"] { return n } else { return "?" } }()
                try service.engine.store.recordSendError(stream: stream, recipient: origin, error: "\(code): \(reason) (delta \(sequence), via \(hub))", audit: true)
                service.record("\(origin) refused delta \(sequence) of \(stream) (via \(hub)): \(code): \(reason)")
            } catch {
                service.record("relayed refusal notice from \(origin) via \(hub) does not verify: \(error)")
            }
        case "receipt":
            do {
                try service.engine.acceptReceipt(body, from: origin)
            } catch {
                service.record("relayed receipt from \(origin) via \(hub) refused: \(error)")
            }
        case "enquiry", "answer":
            let enquiries = try EnquiryService.shared(for: service.node)
            let expected: EnquiryMessageKind = kind == "enquiry" ? .enquiry : .answer
            let routing = try? EnquiryRouting(expected: expected) { headers[$0] }
            let intake = kind == "enquiry"
                ? enquiries.receiveEnquiry(sealed: body, origin: origin, viaHub: hub, routing: routing)
                : enquiries.receiveAnswer(sealed: body, origin: origin, viaHub: hub, routing: routing)
            if case .refused(let error) = intake {
                if error.code.hasSuffix(".unavailable") { throw error }
                service.record("relayed \(kind) from \(origin) via \(hub) refused: \(error.code): \(error.reason)")
                // The origin learns why, as it would from a direct delivery's answer: a signed
                // refusal notice back through the hub (only with a usable routing header:
                // without it there is no message to name, and nobody to tell).
                if let routing {
                    let notice = JSONWriter.serialize(.object([
                        "about": .string(kind), "messageID": .string(routing.messageID), "code": .string(error.code),
                        "reason": .string(String(error.reason.prefix(500))), "from": .string(service.engine.party.urn),
                    ]))
                    let signed = try CMS.sign(notice, signer: service.engine.identity.signingCertificate, key: service.engine.identity.signingKey)
                    _ = try service.relay(via: peer, client: http, headers: [
                        ("Fedtrace-Kind", "refusal"), ("Fedtrace-Message-ID", "urn:fedtrace:refusal:\(SHA256.hexHash(signed))"),
                        ("Fedtrace-Origin", service.engine.party.urn), ("Fedtrace-Recipients", routing.origin),
                        ("Fedtrace-Agreement", routing.agreement),
                    ], body: signed)
                }
            }
        default:
            service.record("relayed \(kind) from \(origin) via \(hub): not handled by this node")
        }
    }
}

/// Pushes the outbox to one peer (docs/sync.md, "Pipelining"): on (re)connect it asks the
/// peer's positions (`GET /fed/v1/streams`), then sends up to `window` sealed deltas at a
/// time pipelined on one connection, verifies each signed receipt, and backs off with
/// jitter when the peer is unreachable.
final class PeerWorker: Sendable {
    let service: SyncService
    let party: String
    private let thread = WorkerThread()

    init(service: SyncService, party: String) {
        self.service = service
        self.party = party
    }

    func start() { thread.start(name: "fedtrace-peer") { [self] in run() } }
    func wake() { thread.wake() }
    func stop() { thread.stop() }
    func join() { thread.join() }
    private var isStopped: Bool { thread.isStopped }
    private func pause(_ seconds: TimeInterval) { thread.pause(seconds) }

    private func run() {
        let store = service.engine.store
        var backoff = service.settings.minBackoff
        var synced = false
        var next: [String: Int64] = [:]
        var refusedUntil: [String: Date] = [:]
        var client: (endpoint: String, client: HTTPClient)?
        // After a failed direct push, deltas go through the hub (when the agreement allows)
        // until this time; then direct delivery is tried again.
        var viaHubUntil = Date.distantPast
        var hubClients: [String: (endpoint: String, client: HTTPClient)] = [:]
        var lastAcknowledged: [String: (sequence: Int64, at: Date)] = [:]
        while !isStopped {
            var direct = true
            do {
                guard let peer = try store.peers().first(where: { $0.party == party }) ?? directoryPeer() else {
                    pause(5)
                    continue
                }
                if peer.endpoint.isEmpty || (Date() < viaHubUntil && peer.sealingCertificate != nil) {
                    direct = false
                    let sent = try relayThroughHub(peer, next: &next, lastAcknowledged: &lastAcknowledged, clients: &hubClients)
                    if sent == 0 { pause(1) }
                    continue
                }
                if client?.endpoint != peer.endpoint {
                    client = (peer.endpoint, try service.client(for: party, endpoint: peer.endpoint))
                    synced = false
                }
                let http = client!.client
                let certificate = try sealingCertificate(peer, http)
                if !synced {
                    next = try positions(http)
                    synced = true
                    try store.recordPeerSeen(party)
                }
                let batch = try pending(next: next, refusedUntil: refusedUntil)
                if batch.isEmpty {
                    pause(1)
                    continue
                }
                var requests: [HTTPRequest] = []
                for (delta, stream) in batch {
                    let sealed = try service.engine.seal(delta, to: [certificate])
                    var headers: HTTPHeaders = ["Content-Type": "application/pkcs7-mime"]
                    for (name, value) in service.engine.routing(of: delta, recipients: stream.recipients).fields { headers.add(name: name, value: value) }
                    requests.append(HTTPRequest(method: .post, target: "/fed/v1/deltas", headers: headers, body: sealed))
                }
                let responses = try http.send(pipelined: requests)
                var sent: [String: Int64] = [:]
                var unavailable = false
                for ((delta, _), response) in zip(batch, responses) {
                    let name = delta.stream
                    switch response.status {
                    case 200:
                        let receipt = try service.engine.acceptReceipt(response.body, from: party)
                        next[name] = max(next[name] ?? 0, delta.sequence + 1, receipt.sequence + 1)
                        sent[name] = max(sent[name] ?? 0, delta.sequence)
                        refusedUntil[name] = nil
                    case 409:
                        if let expected = Self.member("expected", of: response.body).flatMap(Int64.init), expected >= 1 {
                            next[name] = expected
                        } else {
                            next[name] = nil
                        }
                    case 503:
                        unavailable = true
                    default:
                        let code = Self.member("code", of: response.body) ?? "http.\(response.status)"
                        let detail = Self.member("detail", of: response.body) ?? "status \(response.status)"
                        // Recorded and audited once per refusal streak, not for every resend.
                        if refusedUntil[name] == nil || next[name] != delta.sequence {
                            try store.recordSendError(stream: name, recipient: party, error: "\(code): \(detail) (delta \(delta.sequence))", audit: true)
                            service.record("\(party) refused delta \(delta.sequence) of \(name): \(code): \(detail)")
                        }
                        next[name] = delta.sequence
                        refusedUntil[name] = Date().addingTimeInterval(service.settings.refusalBackoff)
                    }
                }
                for (name, sequence) in sent { try store.recordSent(stream: name, recipient: party, sequence: sequence) }
                try store.recordPeerSeen(party)
                backoff = service.settings.minBackoff
                if unavailable { pause(backoff) }
            } catch {
                let reason = (error as? any CodedError).map { "\($0.code): \($0.reason)" } ?? "\(error)"
                try? store.recordPeerError(party, error: direct ? reason : "via hub: \(reason)")
                client?.client.closeIdleConnections()
                synced = false
                next = [:]
                if direct, Date() >= viaHubUntil, (try? canRelay()) == true {
                    // The peer is unreachable directly: go through the hub for a while, at once.
                    viaHubUntil = Date().addingTimeInterval(service.settings.directRetryInterval)
                    service.record("\(party) unreachable directly (\(reason)); relaying through the hub")
                    continue
                }
                // Jitter around the current delay, never past maxBackoff: a peer back from an
                // outage waits at most that long for the next attempt.
                pause(min(backoff * Double.random(in: 0.5...1.5), service.settings.maxBackoff))
                backoff = min(backoff * 2, service.settings.maxBackoff)
            }
        }
    }

    /// This recipient as the directory knows it (no endpoint: only through the hub), with
    /// the sealing certificate of its verified entry; nil when it has none.
    private func directoryPeer() throws -> Peer? {
        let directory = DirectoryService(node: service.node)
        let party = try PartyID(urn: self.party)
        var entry = try directory.entry(for: party)
        if entry == nil {
            _ = try? directory.refresh()
            entry = try directory.entry(for: party)
        }
        guard let entry else { return nil }
        return Peer(party: self.party, endpoint: "", sealingCertificate: Array(entry.sealingCertificate.pemString.utf8), addedAt: "",
                    lastSeen: nil, lastError: nil, lastErrorAt: nil)
    }

    /// The next deltas to push to this peer, in stream order, at most `window`.
    private func pending(next: [String: Int64], refusedUntil: [String: Date]) throws -> [(delta: OutboxDelta, stream: OutboundStream)] {
        let store = service.engine.store
        let now = Date()
        let streams = try store.outboundStreams().filter { $0.recipients.contains(party) }
        var batch: [(delta: OutboxDelta, stream: OutboundStream)] = []
        for progress in try store.progress(recipient: party) where batch.count < service.settings.window {
            guard let stream = streams.first(where: { $0.stream == progress.stream }) else { continue }
            if let until = refusedUntil[stream.stream], until > now { continue }
            let start = next[stream.stream] ?? progress.acknowledged + 1
            guard start <= stream.lastSequence else { continue }
            for delta in try store.outbox(stream: stream.stream, after: start - 1, limit: service.settings.window - batch.count) {
                batch.append((delta, stream))
            }
        }
        return batch
    }

    /// Whether some stream to this peer may travel through a hub this node has as a peer.
    private func canRelay() throws -> Bool {
        try service.engine.store.outboundStreams().contains { $0.recipients.contains(party) && service.relayHub(for: $0.agreementHash) != nil }
    }

    /// Sends pending deltas as `delta` envelopes through the hub each stream's agreement
    /// names (docs/hub.md §1). Receipts come back through this node's mailbox. A stream
    /// whose receipts stop advancing for `relayResendAfter` is relayed again from its
    /// acknowledged position (the hub stores a message ID once). Returns the number relayed.
    private func relayThroughHub(_ peer: Peer, next: inout [String: Int64], lastAcknowledged: inout [String: (sequence: Int64, at: Date)],
                                 clients: inout [String: (endpoint: String, client: HTTPClient)]) throws -> Int {
        let store = service.engine.store
        let certificate = try service.engine.verifyPeerSealingCertificate(peer.sealingCertificate ?? [], party: party)
        let now = Date()
        for progress in try store.progress(recipient: party) {
            if let last = lastAcknowledged[progress.stream], last.sequence == progress.acknowledged {
                if now.timeIntervalSince(last.at) > service.settings.relayResendAfter { next[progress.stream] = nil; lastAcknowledged[progress.stream] = (progress.acknowledged, now) }
            } else {
                lastAcknowledged[progress.stream] = (progress.acknowledged, now)
            }
        }
        let batch = try pending(next: next, refusedUntil: [:])
        var relayed = 0
        for (agreement, items) in Dictionary(grouping: batch, by: { $0.stream.agreementHash }) {
            guard let hub = service.relayHub(for: agreement) else { continue }
            if clients[hub.party]?.endpoint != hub.endpoint { clients[hub.party] = (hub.endpoint, try service.client(for: hub.party, endpoint: hub.endpoint)) }
            let envelopes = try items.map { item -> (headers: [(String, String)], body: [UInt8]) in
                let routing = service.engine.routing(of: item.delta, recipients: item.stream.recipients)
                return ([("Fedtrace-Kind", "delta"), ("Fedtrace-Message-ID", item.delta.deltaID), ("Fedtrace-Origin", service.engine.party.urn),
                         ("Fedtrace-Recipients", party), ("Fedtrace-Agreement", agreement), ("Fedtrace-Stream", item.delta.stream),
                         ("Fedtrace-Sequence", String(item.delta.sequence)), ("Fedtrace-Delta-ID", item.delta.deltaID),
                         ("Fedtrace-Delta-Recipients", routing.recipients.joined(separator: " "))],
                        try service.engine.seal(item.delta, to: [certificate]))
            }
            _ = try service.relay(via: hub, client: clients[hub.party]!.client, envelopes: envelopes)
            for item in items {
                next[item.delta.stream] = max(next[item.delta.stream] ?? 0, item.delta.sequence + 1)
                try store.recordSent(stream: item.delta.stream, recipient: party, sequence: item.delta.sequence)
            }
            relayed += items.count
        }
        return relayed
    }

    /// The peer's sealing certificate: stored, or fetched from the peer and verified.
    private func sealingCertificate(_ peer: Peer, _ http: HTTPClient) throws -> Certificate {
        if let stored = peer.sealingCertificate {
            return try service.engine.verifyPeerSealingCertificate(stored, party: party)
        }
        let response = try http.send(HTTPRequest(method: .get, target: "/fed/v1/certificates"))
        guard response.status == 200, let pem = Self.member("sealing", of: response.body) else {
            throw NodeError(code: "peer.certificates", reason: "\(party) did not return its certificates (status \(response.status))")
        }
        let bytes = Array(pem.utf8)
        _ = try service.engine.verifyPeerSealingCertificate(bytes, party: party)
        try service.engine.store.setPeerCertificate(party: party, sealingCertificate: bytes)
        return try service.engine.verifyPeerSealingCertificate(bytes, party: party)
    }

    /// The peer's positions on our streams; records the receipts they carry.
    private func positions(_ http: HTTPClient) throws -> [String: Int64] {
        let response = try http.send(HTTPRequest(method: .get, target: "/fed/v1/streams"))
        guard response.status == 200, case .array(let items)? = try? JSONParser.parse(response.body) else {
            throw NodeError(code: "peer.streams", reason: "\(party) did not return its stream positions (status \(response.status))")
        }
        var next: [String: Int64] = [:]
        for item in items {
            guard case .object(let o) = item, case .string(let stream)? = o["stream"], case .number(let n)? = o["sequence"],
                  let sequence = Int64(n) else { continue }
            next[stream] = sequence + 1
            if case .string(let encoded)? = o["receipt"], let der = Data(base64Encoded: encoded) {
                _ = try? service.engine.acceptReceipt(Array(der), from: party)
            }
        }
        return next
    }

    /// A string (or number text) member of a JSON object body.
    static func member(_ key: String, of body: [UInt8]) -> String? {
        guard case .object(let o)? = try? JSONParser.parse(body) else { return nil }
        switch o[key] {
        case .string(let s)?: return s
        case .number(let n)?: return n
        default: return nil
        }
    }
}

/// A worker's own thread: started once, woken early from a pause, stopped and joined. The
/// peer and hub workers each run their loop on one.
final class WorkerThread: Sendable {
    private let signal = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)

    func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            body()
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Ends the current (or next) pause at once.
    func wake() { signal.signal() }

    func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        signal.signal()
    }

    /// Waits until the body has returned.
    func join() { done.wait() }

    var isStopped: Bool { stopped.load(ordering: .sequentiallyConsistent) }

    /// Sleeps up to `seconds`, less when woken or stopped.
    func pause(_ seconds: TimeInterval) { _ = signal.wait(timeout: .now() + seconds) }
}
