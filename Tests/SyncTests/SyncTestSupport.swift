import Foundation
import Testing
import Crypto
import Model
import Policy
import Store
@testable import Sync

// MARK: - PKI

/// A throw-away federation PKI made once per test run by the repository's own `Certs/`
/// scripts: one root with KZ, UA and DE folders, and a foreign root with a KZ folder of its
/// own (same Party URN, another CA). Removed when the test process exits.
final class SyncPKI: Sendable {
    static let shared: SyncPKI = {
        do { return try SyncPKI() } catch { fatalError("cannot build the sync test PKI: \(error)") }
    }()

    let directory: String
    let kz: PartyCertificateFolder
    let ua: PartyCertificateFolder
    let de: PartyCertificateFolder
    /// urn:fctc:party:KZ, issued by a root that is not the federation's.
    let foreignKZ: PartyCertificateFolder

    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }   // Tests/SyncTests/SyncTestSupport.swift → repo root
        return url.path
    }()

    private init() throws {
        var template = Array((NSTemporaryDirectory() + "/fedtrace-sync-pki-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        directory = String(cString: made)
        removeAtExit(directory)
        let root = directory + "/root", foreignRoot = directory + "/foreign-root"
        try Self.script("make-root.sh", "--root", root)
        try Self.script("issue-party.sh", "KZ", directory + "/kz", "--root", root)
        try Self.script("issue-party.sh", "UA", directory + "/ua", "--root", root)
        try Self.script("issue-party.sh", "DE", directory + "/de", "--root", root)
        try Self.script("make-root.sh", "--root", foreignRoot, "--name", "Not the federation")
        try Self.script("issue-party.sh", "KZ", directory + "/foreign-kz", "--root", foreignRoot)
        kz = try PartyCertificateFolder.load(from: directory + "/kz", expectedParty: Parties.kz.urn)
        ua = try PartyCertificateFolder.load(from: directory + "/ua", expectedParty: Parties.ua.urn)
        de = try PartyCertificateFolder.load(from: directory + "/de", expectedParty: Parties.de.urn)
        foreignKZ = try PartyCertificateFolder.load(from: directory + "/foreign-kz", expectedParty: Parties.kz.urn)
    }

    func folder(_ party: PartyID) -> PartyCertificateFolder {
        switch party {
        case Parties.kz: return kz
        case Parties.ua: return ua
        case Parties.de: return de
        default: fatalError("no test identity for \(party.urn)")
        }
    }

    /// Runs one of the Certs/ scripts; throws with its standard error when it fails.
    static func script(_ name: String, _ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: repositoryRoot + "/Certs/" + name)
        process.arguments = arguments
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("\(name) \(arguments): \(String(decoding: errorData, as: UTF8.self))")
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

nonisolated(unsafe) private var directoriesToRemove: [String] = []
private let removalLock = NSLock()

/// Removes `directory` when the test process exits (the PKI holds private keys).
private func removeAtExit(_ directory: String) {
    removalLock.lock()
    defer { removalLock.unlock() }
    directoriesToRemove.append(directory)
    if directoriesToRemove.count == 1 {
        atexit { for directory in directoriesToRemove { try? FileManager.default.removeItem(atPath: directory) } }
    }
}

// MARK: - Parties and agreements

enum Parties {
    static let kz = try! PartyID(country: "KZ")
    static let ua = try! PartyID(country: "UA")
    static let de = try! PartyID(country: "DE")
}

enum Agreements {
    /// The bilateral KZ–UA agreement of docs/agreements.md (as Tests/PolicyTests/Fixtures.swift):
    /// flow kz-to-ua-shipments replicates commissioning and shipping ObjectEvents of cigarettes
    /// destined for UA, with fields (a), (f), (g), (h), (j), kept 365 days.
    static let bilateralText = #"""
    {
      "id": "kz-ua-2026",
      "version": 1,
      "supersedes": null,
      "profile": "fctc-tt-1",
      "parties": [
        {"party": "urn:fctc:party:KZ", "competentAuthority": "State Revenue Committee, Ministry of Finance"},
        {"party": "urn:fctc:party:UA", "competentAuthority": "State Customs Service of Ukraine"}
      ],
      "validity": {"notBefore": "2026-01-01T00:00:00Z", "notAfter": "2027-12-31T23:59:59Z"},
      "purposes": ["illicit-trade-detection", "investigation"],
      "legalBasis": "WHO FCTC Protocol to Eliminate Illicit Trade in Tobacco Products, Art. 8 and 21",
      "flows": [
        {
          "id": "kz-to-ua-shipments",
          "from": ["urn:fctc:party:KZ"],
          "to": ["urn:fctc:party:UA"],
          "action": "replicate",
          "rowFilter": {
            "eventTypes": ["ObjectEvent"],
            "bizSteps": ["commissioning", "shipping"],
            "productCategories": ["cigarettes"],
            "destinationCountry": "recipient",
            "eventTimeFrom": "2026-01-01T00:00:00Z"
          },
          "fields": ["a", "f", "g", "h", "j"],
          "duties": {"retentionDays": 365, "receipts": true}
        },
        {
          "id": "ua-answers-kz",
          "from": ["urn:fctc:party:UA"],
          "to": ["urn:fctc:party:KZ"],
          "action": "answerEnquiry",
          "rowFilter": {},
          "fields": ["a", "b", "e", "f", "g", "h", "i", "j"],
          "duties": {"retentionDays": 730, "receipts": true}
        },
        {
          "id": "kz-answers-ua",
          "from": ["urn:fctc:party:KZ"],
          "to": ["urn:fctc:party:UA"],
          "action": "answerEnquiry",
          "rowFilter": {},
          "fields": ["a", "b", "e", "f", "g", "h", "i", "j"],
          "duties": {"retentionDays": 730, "receipts": true}
        }
      ],
      "onwardTransfer": {"allowed": false},
      "relay": {"viaHub": "urn:fctc:hub:gsp"},
      "enquiry": {"mode": "autoUpTo", "maxUIMs": 100, "answerWithinHours": 72},
      "termination": {"noticeDays": 90, "receivedData": "retain-until-retention"},
      "signatures": []
    }
    """#

    /// A trilateral KZ–UA–DE agreement: KZ commissioning events of cigarettes made in KZ go
    /// to UA and DE (fields (a), (g)); KZ shipping events go to DE only (fields (a), (h), (j));
    /// UA replicates everything it holds to DE (every field) — to show that only UA's own
    /// events travel on it.
    static let trilateralText = #"""
    {
      "id": "kz-ua-de-2026",
      "version": 1,
      "supersedes": null,
      "profile": "fctc-tt-1",
      "parties": [
        {"party": "urn:fctc:party:KZ", "competentAuthority": "State Revenue Committee"},
        {"party": "urn:fctc:party:UA", "competentAuthority": "State Customs Service"},
        {"party": "urn:fctc:party:DE", "competentAuthority": "Generalzolldirektion"}
      ],
      "validity": {"notBefore": "2026-01-01T00:00:00Z", "notAfter": "2027-12-31T23:59:59Z"},
      "purposes": ["illicit-trade-detection"],
      "legalBasis": "WHO FCTC Protocol to Eliminate Illicit Trade in Tobacco Products, Art. 8 and 21",
      "flows": [
        {
          "id": "kz-commissioning",
          "from": ["urn:fctc:party:KZ"],
          "to": ["urn:fctc:party:UA", "urn:fctc:party:DE"],
          "action": "replicate",
          "rowFilter": {"eventTypes": ["ObjectEvent"], "bizSteps": ["commissioning"], "productCategories": ["cigarettes"], "sourceCountry": "origin"},
          "fields": ["a", "g"],
          "duties": {"retentionDays": 30, "receipts": true}
        },
        {
          "id": "kz-shipping-to-de",
          "from": ["urn:fctc:party:KZ"],
          "to": ["urn:fctc:party:DE"],
          "action": "replicate",
          "rowFilter": {"bizSteps": ["shipping"]},
          "fields": ["a", "h", "j"],
          "duties": {"retentionDays": 30, "receipts": true}
        },
        {
          "id": "ua-to-de",
          "from": ["urn:fctc:party:UA"],
          "to": ["urn:fctc:party:DE"],
          "action": "replicate",
          "rowFilter": {},
          "fields": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "deactivation"],
          "duties": {"retentionDays": 30, "receipts": true}
        }
      ],
      "onwardTransfer": {"allowed": false},
      "relay": {"viaHub": null},
      "enquiry": {"mode": "manual", "answerWithinHours": 72},
      "termination": {"noticeDays": 90, "receivedData": "retain-until-retention"},
      "signatures": []
    }
    """#

    static func held(_ text: String) -> HeldAgreement {
        let agreement = try! Agreement.parse(Array(text.utf8))
        return HeldAgreement(agreement: agreement, signedBy: Set(agreement.partyIDs))
    }

    static let bilateral = held(bilateralText)
    static let trilateral = held(trilateralText)
}

// MARK: - Events

/// EPCIS events shaped like docs/tobacco-extension.md, varied by serial number.
enum Events {
    static let context = #"["https://ref.gs1.org/standards/epcis/epcis-context.jsonld",{"tt":"https://ns.fedtrace.org/tobacco/1/","example":"https://example.org/"}]"#

    /// A commissioning ObjectEvent of cigarettes made in `made`, for market `market`; its ilmd
    /// carries fields (a) manufactureCountry, (b) facilityID, (c) machineID, (d) shift and time,
    /// (f) intendedMarket, (g) product description, category and brand.
    static func commissioning(_ serial: Int, market: String = "UA", made: String = "KZ", category: String = "cigarettes",
                              time: String = "2026-03-03T01:00:01.614Z") -> String {
        #"""
        {"type":"ObjectEvent","eventTime":"\#(time)","eventTimeZoneOffset":"+05:00",
         "epcList":["https://id.gs1.org/01/04870001000011/21/S\#(serial)"],"action":"ADD","bizStep":"commissioning","disposition":"active",
         "readPoint":{"id":"https://id.gs1.org/414/4870001000104"},"bizLocation":{"id":"https://id.gs1.org/414/4870001000005"},
         "ilmd":{"tt:manufactureCountry":"\#(made)","tt:facilityID":"KZ-F0001","tt:machineID":"KZ-F0001-M01","tt:productionShift":"1",
                 "tt:productionTime":"2026-03-03T06:00:01.614+05:00","tt:intendedMarket":"\#(market)",
                 "tt:productDescription":"Filter cigarettes, 20 sticks","tt:productCategory":"\#(category)","tt:brand":"Steppe Gold"}}
        """#
    }

    /// A shipping ObjectEvent to `destination`, with a consignee note and a private extension
    /// member that no flow allows.
    static func shipping(_ serial: Int, destination: String = "UA", time: String = "2026-03-10T04:00:00.000Z") -> String {
        #"""
        {"type":"ObjectEvent","eventTime":"\#(time)","eventTimeZoneOffset":"+05:00",
         "epcList":["https://id.gs1.org/00/04870001900000\#(String(format: "%04d", serial))"],"action":"OBSERVE","bizStep":"shipping","disposition":"in_transit",
         "readPoint":{"id":"https://id.gs1.org/414/4870001000203"},
         "sourceList":[{"type":"owning_party","source":"https://id.gs1.org/417/4870001000005"}],
         "destinationList":[{"type":"owning_party","destination":"https://id.gs1.org/417/4820001000007"}],
         "tt:productCategory":"cigarettes","tt:intendedRoute":["KZ","\#(destination)"],"tt:pointOfDeparture":"https://id.gs1.org/414/4870001000203",
         "tt:destinationCountry":"\#(destination)",
         "tt:consignee":{"tt:name":"Importer LLC","tt:identifier":"https://id.gs1.org/417/4820001000007","tt:country":"\#(destination)","tt:note":"internal"},
         "tt:transport":{"tt:mode":"road","tt:vehicle":"KZ 123 ABC 02"},"example:internalBatch":"B-77"}
        """#
    }

    /// A packing AggregationEvent: outside every row filter of the bilateral flow.
    static func packing(_ serial: Int, time: String = "2026-03-05T01:00:00.000Z") -> String {
        #"""
        {"type":"AggregationEvent","eventTime":"\#(time)","eventTimeZoneOffset":"+05:00","action":"ADD","bizStep":"packing",
         "parentID":"https://id.gs1.org/00/04870001800000\#(String(format: "%04d", serial))",
         "childEPCs":["https://id.gs1.org/01/04870001000011/21/S\#(serial)"]}
        """#
    }

    static func document(_ events: [String]) throws -> EPCISDocument {
        let text = #"{"@context":\#(context),"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-03-10T05:00:00Z","epcisBody":{"eventList":[\#(events.joined(separator: ","))]}}"#
        return try EPCISDocumentParser.parse(Array(text.utf8), name: "fixture")
    }
}

// MARK: - Nodes

/// One in-process node: a store in its own temporary directory and a sync engine.
final class SyncNode: @unchecked Sendable {
    let party: PartyID
    let identity: PartyCertificateFolder
    let directory: URL
    let store: EventStore
    let engine: SyncEngine
    /// Agreements this node holds (looked up by hash on receive).
    var agreements: [HeldAgreement]

    init(_ party: PartyID, identity: PartyCertificateFolder? = nil, agreements: [HeldAgreement], limits: CutLimits = CutLimits()) throws {
        self.party = party
        self.identity = identity ?? SyncPKI.shared.folder(party)
        self.agreements = agreements
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fedtrace-sync-\(party.code)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try EventStore(path: directory.appendingPathComponent("fedtrace.sqlite").path)
        engine = SyncEngine(party: party, identity: self.identity, store: store, limits: limits)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    var sync: SyncStore { engine.store }

    /// Captures a document of `events` as this node's own.
    @discardableResult
    func capture(_ events: [String], now: Date = Date()) throws -> CaptureResult {
        try store.capture(try Events.document(events), origin: party, actor: "test", source: "fixture", documentDigest: String(repeating: "ab", count: 32), now: now)
    }

    /// Cuts every due delta.
    @discardableResult
    func cut(now: Date = Date(), flush: Bool = true) throws -> [OutboxDelta] {
        try engine.cut(agreements: agreements, now: now, flush: flush)
    }

    func lookup(_ hash: String) -> HeldAgreement? {
        agreements.first { $0.agreement.hash == hash }
    }

    /// Receives a parcel; the TLS peer is the delta's origin unless given.
    func receive(_ parcel: Parcel, tlsPeer: String? = nil, now: Date = Date()) -> ReceiveOutcome {
        receive(sealed: parcel.sealed, routing: parcel.routing, tlsPeer: tlsPeer, now: now)
    }

    func receive(sealed: [UInt8], routing: DeltaRouting, tlsPeer: String? = nil, now: Date = Date()) -> ReceiveOutcome {
        let agreements = self.agreements
        return engine.receive(sealed: sealed, routing: routing, tlsPeer: tlsPeer ?? routing.origin, now: now) { hash in
            agreements.first { $0.agreement.hash == hash }
        }
    }

    /// Every stored event, in storage order.
    func events() throws -> [StoredEvent] {
        var query = EventQuery()
        query.limit = 100_000
        return try store.events(matching: query)
    }

    func count(_ sql: String, _ arguments: [SQLValue] = []) throws -> Int {
        try store.database.read { db in
            let s = try db.prepare(sql).bind(arguments)
            return try s.step() ? Int(s.int64(0)) : 0
        }
    }

    /// Audit records with `action`, oldest first.
    func audit(_ action: String) throws -> [AuditRecord] {
        try store.recentAudit(limit: 100_000).filter { $0.action == action }.reversed()
    }
}

/// A sealed delta with its routing header, as it travels.
struct Parcel {
    let delta: OutboxDelta
    let sealed: [UInt8]
    let routing: DeltaRouting
}

extension SyncNode {
    /// Seals an outbox delta to `recipients` (default: every recipient of its stream) and
    /// makes its routing header.
    func parcel(_ delta: OutboxDelta, sealedTo recipients: [PartyID]? = nil) throws -> Parcel {
        guard let stream = try sync.outboundStreams().first(where: { $0.stream == delta.stream }) else {
            throw TestFailure("no outbound stream \(delta.stream)")
        }
        let to = try recipients ?? stream.recipients.map { try PartyID(urn: $0) }
        let sealed = try engine.seal(delta, to: to.map { SyncPKI.shared.folder($0).sealingCertificate })
        return Parcel(delta: delta, sealed: sealed, routing: engine.routing(of: delta, recipients: stream.recipients))
    }

    /// Cuts, seals, delivers every new delta to `receiver` and hands its receipts back.
    /// Returns the outcomes, in order.
    @discardableResult
    func push(to receiver: SyncNode, now: Date = Date()) throws -> [ReceiveOutcome] {
        var outcomes: [ReceiveOutcome] = []
        for delta in try cut(now: now) {
            let outcome = receiver.receive(try parcel(delta))
            if case .applied(let receipt, _, _, _) = outcome {
                try engine.acceptReceipt(receipt, from: receiver.party.urn)
            }
            outcomes.append(outcome)
        }
        return outcomes
    }
}

extension ReceiveOutcome {
    var refusal: SyncError? {
        if case .refused(let error) = self { return error }
        return nil
    }

    var receipt: [UInt8]? {
        if case .applied(let receipt, _, _, _) = self { return receipt }
        return nil
    }

    var appliedEvents: Int? {
        if case .applied(_, _, let events, let replayed) = self, !replayed { return events }
        return nil
    }

    var isReplay: Bool {
        if case .applied(_, _, _, true) = self { return true }
        return false
    }

    var position: Int64? {
        if case .applied(_, let position, _, _) = self { return position }
        return nil
    }
}

/// The parsed object of raw JSON bytes.
func object(_ bytes: [UInt8]) throws -> JSONObject {
    guard case .object(let o) = try JSONParser.parse(bytes) else { throw TestFailure("not a JSON object") }
    return o
}
