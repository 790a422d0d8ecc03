import Foundation
import Testing
import Crypto
import Model
import Net
import Policy
import Store
@testable import Node
@testable import Sync

// MARK: - PKI

/// A throw-away federation PKI made once per test run by the repository's `Certs/` scripts:
/// one root with KZ, UA and DE certificate folders. Removed when the test process exits.
final class EnquiryPKI: Sendable {
    static let shared: EnquiryPKI = {
        do { return try EnquiryPKI() } catch { fatalError("cannot build the enquiry test PKI: \(error)") }
    }()

    let directory: String

    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    private init() throws {
        var template = Array((NSTemporaryDirectory() + "/fedtrace-enquiry-pki-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure("mkdtemp failed") }
        directory = String(cString: made)
        removeAtExit(directory)
        try Self.script("make-root.sh", "--root", directory + "/root")
        for code in ["KZ", "UA", "DE"] {
            try Self.script("issue-party.sh", code, directory + "/" + code, "--root", directory + "/root")
        }
    }

    func folder(_ code: String) -> String { directory + "/" + code }

    func identity(_ code: String) throws -> PartyCertificateFolder {
        try PartyCertificateFolder.load(from: folder(code), expectedParty: "urn:fctc:party:\(code)")
    }

    static func script(_ name: String, _ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repositoryRoot + "/Certs/" + name] + arguments
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure("\(name) \(arguments): \(String(decoding: errorData, as: UTF8.self))") }
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

nonisolated(unsafe) private var directoriesToRemove: [String] = []
private let removalLock = NSLock()

private func removeAtExit(_ directory: String) {
    removalLock.lock()
    defer { removalLock.unlock() }
    directoriesToRemove.append(directory)
    if directoriesToRemove.count == 1 {
        atexit { for directory in directoriesToRemove { try? FileManager.default.removeItem(atPath: directory) } }
    }
}

// MARK: - Agreements

enum TestAgreement {
    /// A bilateral KZ–UA agreement valid from yesterday for a year: UA answers KZ's
    /// enquiries with (a), (b), (f), (g), (h), (j) — not (c) machine, (d) shift, (e), (i) —
    /// and KZ answers UA's; `replicate` adds a flow pushing every UA event to KZ.
    static func text(mode: String = "auto", maxUIMs: Int? = nil, hours: Int = 72, purposes: [String] = ["illicit-trade-detection", "investigation"],
                     onward: String = "false", replicate: Bool = false, id: String = "kz-ua-enquiries") -> String {
        let now = Date()
        func iso(_ date: Date) -> String { Timestamp(epochMilliseconds: Int64(date.timeIntervalSince1970) * 1000).canonicalUTC }
        let replicateFlow = replicate ? #"""
            {"id": "ua-to-kz", "from": ["urn:fctc:party:UA"], "to": ["urn:fctc:party:KZ"], "action": "replicate", "rowFilter": {},
             "fields": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "deactivation"], "duties": {"retentionDays": 30, "receipts": true}},
            """# : ""
        return #"""
        {
          "id": "\#(id)", "version": 1, "supersedes": null, "profile": "fctc-tt-1",
          "parties": [
            {"party": "urn:fctc:party:KZ", "competentAuthority": "State Revenue Committee"},
            {"party": "urn:fctc:party:UA", "competentAuthority": "State Customs Service"}
          ],
          "validity": {"notBefore": "\#(iso(now.addingTimeInterval(-86_400)))", "notAfter": "\#(iso(now.addingTimeInterval(365 * 86_400)))"},
          "purposes": [\#(purposes.map { "\"\($0)\"" }.joined(separator: ", "))],
          "legalBasis": "WHO FCTC Protocol to Eliminate Illicit Trade in Tobacco Products, Art. 8 and 21",
          "flows": [
            \#(replicateFlow)
            {"id": "ua-answers-kz", "from": ["urn:fctc:party:UA"], "to": ["urn:fctc:party:KZ"], "action": "answerEnquiry", "rowFilter": {},
             "fields": ["a", "b", "f", "g", "h", "j"], "duties": {"retentionDays": 30, "receipts": true}},
            {"id": "kz-answers-ua", "from": ["urn:fctc:party:KZ"], "to": ["urn:fctc:party:UA"], "action": "answerEnquiry", "rowFilter": {},
             "fields": ["a", "b", "f", "g", "h", "j"], "duties": {"retentionDays": 30, "receipts": true}}
          ],
          "onwardTransfer": {"allowed": \#(onward)},
          "relay": {"viaHub": "urn:fctc:hub:gsp"},
          "enquiry": {"mode": "\#(mode)", "maxUIMs": \#(maxUIMs.map(String.init) ?? "null"), "answerWithinHours": \#(hours)},
          "termination": {"noticeDays": 90, "receivedData": "retain-until-retention"},
          "signatures": []
        }
        """#
    }
}

// MARK: - Events

/// A small supply chain at UA: two packs commissioned (S1, S2), packed into a case, the case
/// shipped to KZ; and one event about S1 that UA received from DE.
enum TestEvents {
    static let context = #"["https://ref.gs1.org/standards/epcis/epcis-context.jsonld",{"tt":"https://ns.fedtrace.org/tobacco/1/"}]"#
    static let pack1 = "https://id.gs1.org/01/04820001000011/21/S1"
    static let pack2 = "https://id.gs1.org/01/04820001000011/21/S2"
    static let unknownPack = "https://id.gs1.org/01/04820001000011/21/NOPE"
    static let caseSSCC = "https://id.gs1.org/00/048200019000000017"

    static func commissioning(_ serial: String) -> String {
        #"""
        {"type":"ObjectEvent","eventTime":"2026-03-03T01:00:00.000Z","eventTimeZoneOffset":"+02:00",
         "epcList":["https://id.gs1.org/01/04820001000011/21/\#(serial)"],"action":"ADD","bizStep":"commissioning","disposition":"active",
         "readPoint":{"id":"https://id.gs1.org/414/4820001000104"},"bizLocation":{"id":"https://id.gs1.org/414/4820001000005"},
         "ilmd":{"tt:manufactureCountry":"UA","tt:facilityID":"UA-F0001","tt:machineID":"UA-F0001-M07","tt:productionShift":"2",
                 "tt:intendedMarket":"KZ","tt:productDescription":"Filter cigarettes, 20 sticks","tt:productCategory":"cigarettes","tt:brand":"Dnipro"}}
        """#
    }

    static let packing = #"""
        {"type":"AggregationEvent","eventTime":"2026-03-04T01:00:00.000Z","eventTimeZoneOffset":"+02:00","action":"ADD","bizStep":"packing",
         "parentID":"https://id.gs1.org/00/048200019000000017",
         "childEPCs":["https://id.gs1.org/01/04820001000011/21/S1","https://id.gs1.org/01/04820001000011/21/S2"]}
        """#

    static let shipping = #"""
        {"type":"ObjectEvent","eventTime":"2026-03-10T04:00:00.000Z","eventTimeZoneOffset":"+02:00",
         "epcList":["https://id.gs1.org/00/048200019000000017"],"action":"OBSERVE","bizStep":"shipping","disposition":"in_transit",
         "readPoint":{"id":"https://id.gs1.org/414/4820001000203"},
         "tt:destinationCountry":"KZ","tt:consignee":{"tt:name":"Importer LLP","tt:country":"KZ"},
         "tt:subsequentPurchaser":{"tt:name":"Wholesale LLP","tt:country":"KZ"}}
        """#

    /// An event about S1 held at UA with origin DE (as if replicated from DE).
    static let fromDE = #"""
        {"type":"ObjectEvent","eventTime":"2026-03-12T04:00:00.000Z","eventTimeZoneOffset":"+01:00",
         "epcList":["https://id.gs1.org/01/04820001000011/21/S1"],"action":"OBSERVE","bizStep":"inspecting",
         "readPoint":{"id":"https://id.gs1.org/414/4000001000203"}}
        """#

    static func document(_ events: [String]) throws -> EPCISDocument {
        let text = #"{"@context":\#(context),"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-03-10T05:00:00Z","epcisBody":{"eventList":[\#(events.joined(separator: ","))]}}"#
        return try EPCISDocumentParser.parse(Array(text.utf8), name: "fixture")
    }
}

// MARK: - Nodes

/// One Party node in its own temporary directory, with its certificate folder installed,
/// optionally serving (NodeServer on 127.0.0.1, random ports).
final class TestNode: @unchecked Sendable {
    let code: String
    let party: PartyID
    let root: URL
    let node: OpenNode
    var server: NodeServer?

    init(_ code: String) throws {
        self.code = code
        party = try PartyID(country: code)
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fedtrace-enquiry-\(code)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let configuration = NodeConfiguration(party: party, role: .party, apiListen: "127.0.0.1:0", federationListen: "127.0.0.1:0")
        node = try NodeDirectory.initialize(at: root.appendingPathComponent("node").path, configuration: configuration,
                                            certificates: EnquiryPKI.shared.folder(code))
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: root)
    }

    var data: String { node.directory.path }
    var service: EnquiryService { try! EnquiryService.shared(for: node) }
    var store: EnquiryStore { EnquiryStore(node.store) }

    /// Starts the listeners (the federation one on `port`, 0 for any) with a fast enquiry worker.
    func start(port: Int = 0) throws {
        var configuration = node.configuration
        configuration.federationListen = "127.0.0.1:\(port)"
        let running = OpenNode(directory: node.directory, configuration: configuration, store: node.store)
        server = try NodeServer.start(node: running)
        var settings = service.settings
        settings.tick = 0.05
        settings.minBackoff = 0.1
        settings.maxBackoff = 0.5
        service.settings = settings
    }

    func stop() {
        server?.shutdown(timeout: .seconds(5))
        server = nil
    }

    var federationPort: Int { server?.federationPort ?? 0 }

    func capture(_ events: [String], origin: PartyID? = nil) throws {
        _ = try node.store.capture(try TestEvents.document(events), origin: origin ?? party, actor: "test", source: "fixture",
                                   documentDigest: String(repeating: "ab", count: 32))
    }

    func addPeer(_ other: TestNode, endpoint: String? = nil) throws {
        try SyncStore(node.store).addPeer(party: other.party.urn, endpoint: endpoint ?? "127.0.0.1:\(other.federationPort)", sealingCertificate: nil)
    }

    /// Audit records with `action`, oldest first.
    func audit(_ action: String) throws -> [AuditRecord] {
        try node.store.recentAudit(limit: 100_000).filter { $0.action == action }.reversed()
    }

    func allAudit() throws -> [AuditRecord] { try node.store.recentAudit(limit: 100_000) }

    /// An HTTP client for this node's local API.
    func localClient() throws -> HTTPClient {
        try HTTPClient(configuration: .init(host: "127.0.0.1", port: server!.apiPort, requestTimeout: .seconds(20)))
    }

    /// A mutual-TLS client presenting `code`'s transport certificate to this node's federation listener.
    func federationClient(as code: String) throws -> HTTPClient {
        let folder = EnquiryPKI.shared.folder(code)
        let tls = TLSConfiguration.client(trustRootsFile: folder + "/root.pem", certificateChainFile: folder + "/transport.pem",
                                          privateKeyFile: folder + "/transport.key", crlFile: folder + "/crl.pem")
        return try HTTPClient(configuration: .init(host: "127.0.0.1", port: federationPort, tls: tls, requestTimeout: .seconds(20)))
    }
}

/// Two (or more) nodes that hold the same agreement, signed by both, and know each other.
struct Pair {
    let kz: TestNode
    let ua: TestNode
    let agreement: Agreement

    /// KZ and UA with `agreementText` signed and imported on both, serving, peers of each other;
    /// UA holds the fixture events (and one from DE).
    init(agreement agreementText: String = TestAgreement.text(), serve: Bool = true, events: Bool = true) throws {
        kz = try TestNode("KZ")
        ua = try TestNode("UA")
        let bytes = Array(agreementText.utf8)
        let signatures = try [kz, ua].map { try AgreementService(node: $0.node).sign(bytes).signature }
        for node in [kz, ua] { _ = try AgreementService(node: node.node).importAgreement(bytes, signatures: signatures) }
        agreement = try Agreement.parse(bytes)
        if events {
            try ua.capture([TestEvents.commissioning("S1"), TestEvents.commissioning("S2"), TestEvents.packing, TestEvents.shipping])
            try ua.capture([TestEvents.fromDE], origin: try PartyID(country: "DE"))
        }
        if serve {
            try kz.start()
            try ua.start()
            try kz.addPeer(ua)
            try ua.addPeer(kz)
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(_ what: String = "condition", timeout: TimeInterval = 15, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.02)
    }
    throw Failure("timed out waiting for \(what)")
}

/// The parsed object of JSON bytes.
func object(_ bytes: [UInt8]) throws -> JSONObject {
    guard case .object(let o) = try JSONParser.parse(bytes, limits: EPCISDocumentParser.limits) else { throw Failure("not a JSON object") }
    return o
}

/// Every UIM-like string and case reference must stay out of audit details.
func auditLeaks(_ records: [AuditRecord], secrets: [String]) -> [String] {
    records.flatMap { record in secrets.filter { record.detail.contains($0) }.map { "\(record.action): \($0)" } }
}
