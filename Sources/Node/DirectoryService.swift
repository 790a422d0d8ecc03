import Foundation
import Core
import Crypto
import Model
import Net
import Store
import Sync
import Synchronization

/// The signed directory at a node (docs/hub.md §2).
///
/// - At a **hub**: `accept` checks and stores an entry a Party posts (exact bytes, only a
///   higher version, audited); `signedEntries` is what `GET /fed/v1/directory` serves.
/// - At a **Party**: `publish` signs its entry (version = previous + 1) and posts it to
///   every hub peer; `refresh` fetches every hub's entries, verifies each, and caches the
///   newest valid one per Party.
/// - At both: `entries`, `entry(for:)`, `owner(ofUIM:)` read the stored entries and
///   **verify them again** on every read (so a revoked certificate or an edited row is never
///   trusted); the verified entries are shared by every `DirectoryService` of this process
///   on the same data directory (`SharedMemo`) until an entry or the root or CRL file
///   changes, or for 10 seconds.
///
/// The hub never signs anything here: what it stores and serves is what the Party signed.
public final class DirectoryService: Sendable {
    public let node: OpenNode
    public let store: DirectoryStore
    /// Verified entries by data directory; the stored entries' bytes are the fingerprint.
    static let verified = SharedMemo<[VerifiedEntry]>(seconds: 10)

    public init(node: OpenNode) {
        self.node = node
        self.store = DirectoryStore(node.store)
    }

    /// The federation root and CRL of the node's certificate folder, read now (so a newly
    /// installed `crl.pem` applies at once).
    public func trust() throws -> TrustStore {
        let certs = node.directory.certificatesPath
        let root = certs + "/root.pem", crl = certs + "/crl.pem"
        guard FileManager.default.fileExists(atPath: root) else {
            throw NodeError(code: "directory.no_certificates", reason: "the directory needs the federation root at \(root); install the certificate folder")
        }
        return try TrustStore(rootFile: root, crlFile: FileManager.default.fileExists(atPath: crl) ? crl : nil)
    }

    // MARK: - Reading (hub and Party)

    /// Every stored entry that verifies now, one per Party. An entry that no longer verifies
    /// (revoked or expired certificate, edited row) is left out.
    public func entries(now: Date = Date()) throws -> [VerifiedEntry] {
        let rows = try store.entries()
        // The fingerprint is the hash of the stored bytes as they are now (not the stored
        // digest column), so a row edited in place is verified again at once; and the trust
        // files, so a newly installed CRL applies at once.
        let fingerprint = rows.map { SHA256.hexHash($0.signed) } + trustFilesFingerprint(in: node.directory.certificatesPath)
        return try Self.verified.value(for: node.directory.path, fingerprint: fingerprint, now: now) {
            let trust = try trust()
            var verified: [VerifiedEntry] = []
            for row in rows {
                guard let entry = try? Directory.verify(row.signed, trust: trust, now: now), entry.party.urn == row.party else { continue }
                verified.append(entry)
            }
            return verified
        }
    }

    /// The verified entry of `party` (endpoints, certificates), or nil.
    public func entry(for party: PartyID, now: Date = Date()) throws -> VerifiedEntry? {
        try entries(now: now).first { $0.party == party }
    }

    /// The Party that owns `uim`: the verified entry whose UIM pattern is the longest prefix
    /// of the UIM's canonical form. Nil when no pattern matches or when several Parties
    /// publish the same longest pattern (see `ownership(ofUIM:)`).
    public func owner(ofUIM uim: String, now: Date = Date()) throws -> VerifiedEntry? {
        if case .owned(let entry, _) = try ownership(ofUIM: uim, now: now) { return entry }
        return nil
    }

    /// Who owns `uim`, telling an ambiguous claim from none.
    public func ownership(ofUIM uim: String, now: Date = Date()) throws -> UIMOwnership {
        Directory.ownership(ofUIM: uim, among: try entries(now: now))
    }

    // MARK: - Hub

    /// Checks and stores an entry posted by the TLS peer `peer` (the hub's route). Refusals
    /// are audited (`directory.refuse`, actor = the peer) with their code; a stored entry is
    /// audited as `directory.store`. Re-posting the same bytes is answered as stored,
    /// without a new record.
    public func accept(_ signed: [UInt8], from peer: String, now: Date = Date()) throws(DirectoryError) -> (entry: VerifiedEntry, outcome: DirectoryStoreOutcome) {
        do throws(DirectoryError) {
            let trust: TrustStore
            do { trust = try self.trust() } catch {
                throw DirectoryError(code: "directory.unavailable", reason: "the hub cannot read its federation root")
            }
            let entry = try Directory.verify(signed, trust: trust, now: now)
            guard entry.party.urn == peer else {
                throw DirectoryError(code: "directory.identity", reason: "\(peer) may publish only its own entry, not the entry of \(entry.party.urn)")
            }
            let outcome: DirectoryStoreOutcome
            do {
                outcome = try store.storeIfNewer(party: entry.party.urn, version: entry.version, issued: entry.issued, signed: signed,
                                                 source: peer, actor: peer, action: "directory.store", now: now)
            } catch {
                throw DirectoryError(code: "directory.unavailable", reason: "the hub's store did not answer")
            }
            if case .notNewer(let current) = outcome {
                throw DirectoryError(code: "directory.version",
                                     reason: "version \(entry.version) of \(entry.party.urn)'s entry is not newer than version \(current) held here",
                                     current: current)
            }
            return (entry, outcome)
        } catch {
            if error.code != "directory.unavailable" {
                let claimed = (try? CMSInspector.inspect(signed))?.signers.first?.partyURN
                try? store.recordRefusal(actor: peer, action: "directory.refuse", code: error.code, reason: error.reason,
                                         party: claimed, signed: signed, now: now)
            }
            throw error
        }
    }

    /// The stored entries as their exact signed bytes, by Party (what `GET /fed/v1/directory` serves).
    public func signedEntries() throws -> [[UInt8]] {
        try store.entries().map(\.signed)
    }

    /// `POST /fed/v1/directory` and `GET /fed/v1/directory` (hub only; a Party node answers
    /// 404 `directory.not-hub`). One line in `FederationAPI` adds them.
    public static func federationRoutes(node: OpenNode) -> [Route] {
        let service = DirectoryService(node: node)
        @Sendable func peer(_ request: APIRequest) throws(APIProblem) -> String {
            guard let peer = request.context.peerIdentity else {
                throw APIProblem(status: 403, code: "federation.no_identity", detail: "the connection carries no verified Party identity")
            }
            guard node.configuration.role == .hub else {
                throw APIProblem.notFound("directory.not-hub", "\(node.configuration.party.urn) is not a hub; the directory is published at a hub")
            }
            return peer
        }
        return [
            Route(.post, "/fed/v1/directory") { request throws(APIProblem) in
                let peer = try peer(request)
                do throws(DirectoryError) {
                    let (entry, outcome) = try service.accept(request.http.body, from: peer)
                    return .json(.object([
                        "party": .string(entry.party.urn), "version": .number(String(entry.version)), "sha256": .string(entry.digest),
                        "stored": .bool(outcome == .stored),
                    ]), status: outcome == .stored ? 201 : 200)
                } catch {
                    var members: JSONObject = [:]
                    if let current = error.current { members["current"] = .number(String(current)) }
                    throw APIProblem(status: error.code == "directory.unavailable" ? 503 : error.httpStatus, code: error.code,
                                     detail: error.reason, members: members)
                }
            },
            Route(.get, "/fed/v1/directory") { request throws(APIProblem) in
                _ = try peer(request)
                do {
                    return .json(.array(try service.signedEntries().map { .string(Data($0).base64EncodedString()) }))
                } catch {
                    throw APIProblem(status: 503, code: "directory.unavailable", detail: "the store did not answer")
                }
            },
        ]
    }

    // MARK: - Party

    /// The hub peers of this node (`fedtrace peer add --party urn:fctc:hub:NAME`).
    public func hubs() throws -> [Peer] {
        try SyncStore(node.store).peers().filter { $0.party.hasPrefix("urn:fctc:hub:") }
    }

    /// Signs this Party's entry with its signing key — version one above the highest it has
    /// signed or cached for itself — records it (`directory.publish`), caches it, and posts
    /// it to every hub. When a hub holds a higher version (a store restored from an old
    /// backup), the entry is signed once more above it and posted again.
    public func publish(endpoints: [String], uimPatterns: [String], competentAuthorities: [CompetentAuthority],
                        now: Date = Date()) throws -> PublishReport {
        let party = node.configuration.party
        guard node.configuration.role == .party else {
            throw NodeError(code: "directory.role", reason: "\(party.urn) is a hub; only a Party publishes a directory entry")
        }
        let hubs = try hubs()
        guard !hubs.isEmpty else {
            throw NodeError(code: "directory.no_hub", reason: "no hub peer: add one with 'fedtrace peer add --data DIR --party urn:fctc:hub:NAME --endpoint HOST:PORT'")
        }
        let identity: PartyCertificateFolder
        do {
            identity = try PartyCertificateFolder.load(from: node.directory.certificatesPath, expectedParty: party.urn, at: now)
        } catch let error as CryptoError {
            throw NodeError(code: "directory.identity", reason: error.reason)
        }
        var version = max(try store.lastPublishedVersion(), try store.entry(party: party.urn)?.version ?? 0) + 1
        var deliveries: [HubDelivery] = []
        var entry: VerifiedEntry?
        for _ in 0..<2 {
            let content = try DirectoryEntry(party: party, issued: now, version: version, endpoints: endpoints,
                                             transport: identity.transportCertificate, signing: identity.signingCertificate,
                                             sealing: identity.sealingCertificate, competentAuthorities: competentAuthorities,
                                             uimPatterns: uimPatterns)
            let signed = try content.sign(certificate: identity.signingCertificate, key: identity.signingKey, trust: identity.trust, now: now)
            try store.recordPublished(version: version, signed: signed.signed, hubs: hubs.map(\.party), now: now)
            _ = try store.storeIfNewer(party: party.urn, version: version, issued: signed.issued, signed: signed.signed, source: "self",
                                       actor: "operator", action: "directory.cache", now: now)
            entry = signed
            deliveries = hubs.map { post(signed.signed, to: $0) }
            let higher = deliveries.compactMap { delivery -> Int64? in
                if case .refused(let error) = delivery.outcome, error.code == "directory.version" { return error.current }
                return nil
            }.max()
            guard let higher, higher >= version else { break }
            version = higher + 1
        }
        return PublishReport(entry: entry!, deliveries: deliveries)
    }

    /// Posts signed entry bytes to `hub` and reports what it answered (never throws: an
    /// unreachable hub is an outcome).
    public func post(_ signed: [UInt8], to hub: Peer) -> HubDelivery {
        do {
            let client = try client(for: hub)
            defer { client.closeIdleConnections() }
            let response = try client.send(HTTPRequest(method: .post, target: "/fed/v1/directory",
                                                       headers: ["Content-Type": "application/pkcs7-mime"], body: signed))
            try? SyncStore(node.store).recordPeerSeen(hub.party)
            switch response.status {
            case 200: return HubDelivery(hub: hub.party, endpoint: hub.endpoint, outcome: .unchanged)
            case 201: return HubDelivery(hub: hub.party, endpoint: hub.endpoint, outcome: .stored)
            default:
                let problem = try? JSONParser.parse(response.body).objectValue
                let code = problem?["code"]?.stringValue ?? "http.\(response.status)"
                let detail = problem?["detail"]?.stringValue ?? "status \(response.status)"
                let current: Int64? = problem?["current"].flatMap { if case .number(let n) = $0 { return Int64(n) } else { return nil } }
                return HubDelivery(hub: hub.party, endpoint: hub.endpoint, outcome: .refused(DirectoryError(code: code, reason: detail, current: current)))
            }
        } catch {
            let reason = (error as? any CodedError).map { "\($0.code): \($0.reason)" } ?? "\(error)"
            try? SyncStore(node.store).recordPeerError(hub.party, error: reason)
            return HubDelivery(hub: hub.party, endpoint: hub.endpoint, outcome: .unreachable(reason))
        }
    }

    /// The signed entries `hub` serves, each decoded from base64 (an item that is not
    /// base64 comes back as empty bytes, which then fails verification).
    public func fetch(from hub: Peer) throws -> [[UInt8]] {
        let client = try client(for: hub)
        defer { client.closeIdleConnections() }
        let response = try client.send(HTTPRequest(method: .get, target: "/fed/v1/directory"))
        guard response.status == 200, case .array(let items)? = try? JSONParser.parse(response.body) else {
            let code = (try? JSONParser.parse(response.body).objectValue)?["code"]?.stringValue ?? "http.\(response.status)"
            throw NodeError(code: "directory.fetch", reason: "\(hub.party) did not return its directory (status \(response.status), \(code))")
        }
        try? SyncStore(node.store).recordPeerSeen(hub.party)
        return items.map { item in
            guard case .string(let text) = item, let data = Data(base64Encoded: text) else { return [] }
            return Array(data)
        }
    }

    /// Fetches the directory from every hub, verifies every entry with this node's root and
    /// CRL, and caches the newest valid entry per Party (`directory.cache`, audited). Invalid
    /// entries are ignored and audited (`directory.ignore`, actor = the hub) with their code.
    public func refresh(now: Date = Date()) throws -> DirectoryRefresh {
        let trust = try trust()
        var fetched: [(hub: Peer, result: Result<Int, NodeError>)] = []
        var invalid: [(hub: String, entry: InvalidEntry)] = []
        var candidates: [(hub: String, entry: VerifiedEntry)] = []
        for hub in try hubs() {
            do {
                let signed = try fetch(from: hub)
                fetched.append((hub, .success(signed.count)))
                let evaluation = Directory.evaluate(signed, trust: trust, now: now)
                candidates += (evaluation.valid + evaluation.superseded).map { (hub.party, $0) }
                for bad in evaluation.invalid {
                    invalid.append((hub.party, bad))
                    try store.recordRefusal(actor: hub.party, action: "directory.ignore", code: bad.error.code, reason: bad.error.reason,
                                            party: bad.claimedSigner, signed: signed[bad.index], now: now)
                }
            } catch {
                let reason = (error as? any CodedError).map { "\($0.code): \($0.reason)" } ?? "\(error)"
                try? SyncStore(node.store).recordPeerError(hub.party, error: reason)
                fetched.append((hub, .failure(NodeError(code: "directory.fetch", reason: reason))))
            }
        }
        // Newest first, so each Party's best entry is offered to the cache before older ones.
        candidates.sort { $0.entry.party == $1.entry.party ? Directory.isNewer($0.entry, than: $1.entry) : $0.entry.party < $1.entry.party }
        var cached: [VerifiedEntry] = []
        var older: [(hub: String, entry: VerifiedEntry, current: Int64)] = []
        var offered = Set<String>()
        for (hub, entry) in candidates where offered.insert(entry.digest).inserted {
            switch try store.storeIfNewer(party: entry.party.urn, version: entry.version, issued: entry.issued, signed: entry.signed,
                                          source: hub, actor: hub, action: "directory.cache", now: now) {
            case .stored: cached.append(entry)
            case .unchanged: break
            case .notNewer(let current): if current > entry.version { older.append((hub, entry, current)) }
            }
        }
        return DirectoryRefresh(hubs: fetched.map { HubFetch(hub: $0.hub.party, endpoint: $0.hub.endpoint, result: $0.result) },
                                entries: try entries(now: now), newlyCached: cached, invalid: invalid.map { InvalidHubEntry(hub: $0.hub, entry: $0.entry) },
                                olderThanCached: older.map { OlderHubEntry(hub: $0.hub, entry: $0.entry, current: $0.current) })
    }

    /// A TLS client for `hub`: this node's transport certificate, the federation root and
    /// CRL, and a server certificate that must name the hub.
    func client(for hub: Peer) throws -> HTTPClient {
        guard let certificates = try CertificateFolder.load(at: node.directory.certificatesPath) else {
            throw NodeError(code: "directory.no_certificates", reason: "talking to a hub needs the certificate folder at \(node.directory.certificatesPath)")
        }
        return try certificates.federationClient(to: hub.party, endpoint: hub.endpoint, requestTimeout: .seconds(30), maxIdleConnections: 1)
    }
}

/// What one hub answered to a posted entry.
public struct HubDelivery: Sendable {
    public enum Outcome: Sendable {
        /// Stored (201).
        case stored
        /// The hub already held exactly these bytes (200).
        case unchanged
        /// Refused with a problem code (`directory.version` carries the hub's `current`).
        case refused(DirectoryError)
        /// Not reached (connect, TLS, identity, timeout).
        case unreachable(String)
    }

    public let hub: String
    public let endpoint: String
    public let outcome: Outcome

    public var isAccepted: Bool {
        switch outcome {
        case .stored, .unchanged: return true
        case .refused, .unreachable: return false
        }
    }
}

/// The result of `DirectoryService.publish`.
public struct PublishReport: Sendable {
    /// The entry as signed (and verified) here.
    public let entry: VerifiedEntry
    public let deliveries: [HubDelivery]
}

/// What one hub gave `refresh`: the number of entries, or why it could not be read.
public struct HubFetch: Sendable {
    public let hub: String
    public let endpoint: String
    public let result: Result<Int, NodeError>
}

/// An entry a hub served that did not verify.
public struct InvalidHubEntry: Sendable {
    public let hub: String
    public let entry: InvalidEntry
}

/// A valid entry a hub served that is older than the one cached here (a hub serving stale data).
public struct OlderHubEntry: Sendable {
    public let hub: String
    public let entry: VerifiedEntry
    public let current: Int64
}

/// The result of `DirectoryService.refresh`.
public struct DirectoryRefresh: Sendable {
    public let hubs: [HubFetch]
    /// Every cached entry that verifies now, by Party (after this refresh).
    public let entries: [VerifiedEntry]
    /// Entries stored in the cache by this refresh.
    public let newlyCached: [VerifiedEntry]
    public let invalid: [InvalidHubEntry]
    public let olderThanCached: [OlderHubEntry]
}
