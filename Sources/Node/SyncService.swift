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
        /// Retry delays after a failed connection: from `minBackoff`, doubling, at most `maxBackoff`, with jitter.
        public var minBackoff: TimeInterval = 0.25
        public var maxBackoff: TimeInterval = 30
        /// How long a stream waits before resending a delta its recipient refused.
        public var refusalBackoff: TimeInterval = 30
        public var limits = CutLimits()
        public init() {}
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
        var held: (at: Date, all: [AgreementStatus])?
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

    /// Agreement statuses, cached for a second (each status verifies every signature).
    func statuses(now: Date = Date()) throws -> [AgreementStatus] {
        if let cached = state.withLock({ $0.held }), now.timeIntervalSince(cached.at) < 1, now >= cached.at { return cached.all }
        let all = try agreements.statuses(at: now)
        state.withLock { $0.held = (now, all) }
        return all
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
    public func receive(sealed: [UInt8], routing: DeltaRouting, peer: String, now: Date = Date()) -> ReceiveOutcome {
        let outcome = engine.receive(sealed: sealed, routing: routing, tlsPeer: peer, now: now) { hash in try lookup(hash: hash, now: now) }
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
        let (workers, started) = state.withLock { state -> ([PeerWorker], Bool) in
            state.stopped = true
            defer { state.started = false }
            return (Array(state.workers.values), state.started)
        }
        if started { schedulerDone.wait() }
        for worker in workers { worker.stop() }
        for worker in workers { worker.join() }
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
            if now.timeIntervalSince(lastPeers) >= 2 {
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
        guard let peers = try? engine.store.peers() else { return }
        state.withLock { state in
            guard !state.stopped else { return }
            for peer in peers where state.workers[peer.party] == nil {
                let worker = PeerWorker(service: self, party: peer.party)
                state.workers[peer.party] = worker
                worker.start()
            }
        }
    }

    /// A TLS client for `peer` at `endpoint`: our transport certificate, the federation root
    /// and CRL, and a server certificate that must name `peer`.
    func client(for peer: String, endpoint: String) throws -> HTTPClient {
        guard let address = ListenAddress(endpoint) else {
            throw NodeError(code: "peer.endpoint", reason: "endpoint '\(endpoint)' of \(peer) is not HOST:PORT")
        }
        var tls = TLSConfiguration.client(trustRootsFile: certificates.root, certificateChainFile: certificates.transportCertificate,
                                          privateKeyFile: certificates.transportKey, crlFile: certificates.crl)
        tls.peerIdentity = { certificate in
            FederationAPI.partyIdentity(certificate).flatMap { identity in
                identity == peer ? .success(identity)
                    : .failure(NodeError(code: "peer.identity", reason: "the server at \(endpoint) is \(identity), not \(peer)"))
            }
        }
        var limits = HTTPLimits.default
        limits.maxBodyBytes = 64 << 20
        return try HTTPClient(configuration: .init(host: address.host, port: Int(address.port), tls: tls, limits: limits,
                                                   connectTimeout: .seconds(5), requestTimeout: .seconds(120), maxIdleConnections: 2))
    }

    func record(_ message: String) { log(message) }
}

/// Pushes the outbox to one peer (docs/sync.md, "Pipelining"): on (re)connect it asks the
/// peer's positions (`GET /fed/v1/streams`), then sends up to `window` sealed deltas at a
/// time pipelined on one connection, verifies each signed receipt, and backs off with
/// jitter when the peer is unreachable.
final class PeerWorker: Sendable {
    let service: SyncService
    let party: String
    private let signal = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)

    init(service: SyncService, party: String) {
        self.service = service
        self.party = party
    }

    func start() {
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "fedtrace-peer"
        thread.start()
    }

    func wake() { signal.signal() }

    func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        signal.signal()
    }

    func join() { done.wait() }

    private var isStopped: Bool { stopped.load(ordering: .sequentiallyConsistent) }

    private func pause(_ seconds: TimeInterval) {
        _ = signal.wait(timeout: .now() + seconds)
    }

    private func run() {
        let store = service.engine.store
        var backoff = service.settings.minBackoff
        var synced = false
        var next: [String: Int64] = [:]
        var refusedUntil: [String: Date] = [:]
        var client: (endpoint: String, client: HTTPClient)?
        while !isStopped {
            do {
                guard let peer = try store.peers().first(where: { $0.party == party }) else { return }
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
                try? store.recordPeerError(party, error: reason)
                client?.client.closeIdleConnections()
                synced = false
                next = [:]
                // Jitter around the current delay, never past maxBackoff: a peer back from an
                // outage waits at most that long for the next attempt.
                pause(min(backoff * Double.random(in: 0.5...1.5), service.settings.maxBackoff))
                backoff = min(backoff * 2, service.settings.maxBackoff)
            }
        }
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
