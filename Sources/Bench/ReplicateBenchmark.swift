import Foundation
import Crypto
import Generator
import Model
import Node
import Policy
import Store
import Sync

/// `fedtrace bench replicate` and `fedtrace bench catchup` (DESIGN §14): generated events
/// captured at a KZ node replicate to a UA node over mutual TLS on loopback, end to end —
/// filter, redact, sign, seal, send (pipelined), open, verify, re-check, commit, signed
/// receipt. Baseline for both: a raw SQLite insert of the rows UA stored (prepared
/// statements, one transaction per 1,000 rows), measured in the same run.
///
/// - `replicate`: KZ's store is filled first (setup, not timed); the figure is timed from the
///   moment both nodes start until KZ holds a receipt for its last delta (cutting included).
/// - `catchup`: KZ serves and captures while UA is down, so its deltas are cut and waiting;
///   the figure is timed from UA's restart until KZ holds every receipt, with progress.
public enum ReplicateBenchmark {
    public static func run(events: Int, workDirectory: URL, progress: (String) -> Void = { _ in }) throws -> BenchmarkResult {
        let pair = try Pair(workDirectory: workDirectory, receiverPort: 0)
        defer { pair.pki.remove() }
        // Setup (not timed): capture the generated events at KZ.
        let total = try pair.captureAtSender(events: events, progress: progress)

        // The figure: start both nodes and replicate everything.
        progress("replicating KZ → UA over mutual TLS on loopback")
        let started = DispatchTime.now()
        let receiverServer = try NodeServer.start(node: pair.receiver, syncSettings: Pair.settings)
        defer { receiverServer.shutdown(timeout: .seconds(5)) }
        let senderServer = try NodeServer.start(node: pair.sender, syncSettings: Pair.settings)
        defer { senderServer.shutdown(timeout: .seconds(5)) }
        try SyncStore(pair.sender.store).addPeer(party: pair.ua.urn, endpoint: "127.0.0.1:\(receiverServer.federationPort ?? 0)", sealingCertificate: nil)
        try pair.waitUntilAcknowledged(progress: progress)
        return try pair.result("replicate", since: started, target: "1,000,000 events in ≤ 10 s (≥ 100000 events/s)", minimum: 100_000,
                               workDirectory: workDirectory, progress: progress) { received, seconds in
            "replicated \(received) of \(total) events in \(String(format: "%.2f", seconds)) s"
        }
    }

    /// `catchup`: UA comes back after missing `events` events.
    public static func runCatchUp(events: Int, workDirectory: URL, progress: (String) -> Void = { _ in }) throws -> BenchmarkResult {
        // UA's federation port is fixed in advance, so KZ can hold it as a peer while UA is down.
        let pair = try Pair(workDirectory: workDirectory, receiverPort: try freeLoopbackPort())
        defer { pair.pki.remove() }
        let senderServer = try NodeServer.start(node: pair.sender, syncSettings: Pair.settings)
        defer { senderServer.shutdown(timeout: .seconds(5)) }
        try SyncStore(pair.sender.store).addPeer(party: pair.ua.urn, endpoint: pair.receiver.configuration.federationListen, sealingCertificate: nil)
        // Setup (not timed): KZ captures while UA is down, and cuts everything into deltas.
        let total = try pair.captureAtSender(events: events, progress: progress)
        let sync = SyncStore(pair.sender.store)
        let deadline = Date().addingTimeInterval(600)
        while try sync.firstPendingRecordTime(origin: pair.kz.urn, after: sync.outboundStreams().first?.cursor ?? 0) != nil {
            guard Date() < deadline else { throw NodeError(code: "bench.catchup", reason: "KZ did not cut its events into deltas within 10 minutes") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let waiting = try sync.outboundStreams().first?.lastSequence ?? 0
        progress("UA missed \(total) events: \(waiting) deltas wait at KZ; UA comes back")

        let started = DispatchTime.now()
        let receiverServer = try NodeServer.start(node: pair.receiver, syncSettings: Pair.settings)
        defer { receiverServer.shutdown(timeout: .seconds(5)) }
        try pair.waitUntilAcknowledged(progress: progress)
        return try pair.result("catchup", since: started, target: "1,000,000 missed events in ≤ 15 s (≥ 66667 events/s)", minimum: 1_000_000.0 / 15,
                               workDirectory: workDirectory, progress: progress) { received, seconds in
            "UA caught up with \(received) events in \(String(format: "%.2f", seconds)) s"
        }
    }

    /// The KZ and UA nodes with their certificates and a signed bilateral agreement whose
    /// KZ → UA flow takes every event with Article 8.4.1 (a), (f), (g), (h), (j).
    struct Pair {
        let kz: PartyID, ua: PartyID
        let pki: BenchPKI
        let sender: OpenNode, receiver: OpenNode

        /// Fast ticks and short retries: the figures measure the work, not the waits.
        static var settings: SyncService.Settings {
            .shortWaits(tick: .milliseconds(20), peerRefresh: 0.02, maxDeltaAge: 0.02, backoff: 0.02...0.1)
        }

        init(workDirectory: URL, receiverPort: Int) throws {
            kz = try PartyID(country: "KZ")
            ua = try PartyID(country: "UA")
            pki = try BenchPKI(leaves: [kz, ua].flatMap(BenchPKI.folderLeaves))
            var nodes: [OpenNode] = []
            for party in [kz, ua] {
                let folder = workDirectory.appendingPathComponent("certs-\(party.code)").path
                try pki.installFolder(party, at: folder)
                let port = party == ua ? receiverPort : 0
                let configuration = NodeConfiguration(party: party, role: .party, apiListen: "127.0.0.1:0", federationListen: "127.0.0.1:\(port)")
                nodes.append(try NodeDirectory.initialize(at: workDirectory.appendingPathComponent("node-\(party.code)").path,
                                                          configuration: configuration, certificates: folder))
            }
            (sender, receiver) = (nodes[0], nodes[1])
            let draft = try AgreementService.draft(party: kz, with: [ua], id: "bench-replicate")
            guard case .object(var document) = try JSONParser.parse(draft), case .array(var flows)? = document["flows"],
                  case .object(var flow)? = flows.first else {
                throw NodeError(code: "bench.agreement", reason: "the drafted agreement has no flows")
            }
            flow["rowFilter"] = .object([:])
            flow["fields"] = .array(["a", "f", "g", "h", "j"].map(JSONValue.string))
            flows[0] = .object(flow)
            document["flows"] = .array(flows)
            let agreementBytes = JSONWriter.serialize(.object(document))
            let signatures = try nodes.map { try AgreementService(node: $0).sign(agreementBytes).signature }
            for node in nodes { _ = try AgreementService(node: node).importAgreement(agreementBytes, signatures: signatures) }
        }

        /// Captures about `events` generated events at KZ; returns how many.
        func captureAtSender(events: Int, progress: (String) -> Void) throws -> Int {
            let generator = try SupplyChainGenerator(SupplyChainConfiguration.configuration(approximateEvents: events, seed: 11, manufacturer: kz, importer: ua))
            var documents: [[UInt8]] = []
            generator.forEachDocument(eventsPerDocument: 10_000) { documents.append($0) }
            let total = generator.summary().events
            progress("capturing \(total) generated events at KZ (setup, not timed)")
            try CapturePipeline.run(documents: documents, parse: { index, bytes in
                try EPCISDocumentParser.parse(bytes, name: "bench-\(index)")
            }, store: { index, document, bytes in
                _ = try sender.store.capture(document, origin: kz, actor: "bench", source: "bench-\(index)", documentDigest: SHA256.hexHash(bytes))
            })
            return total
        }

        /// Waits until KZ has cut everything and holds UA's receipt for its last delta,
        /// reporting progress every two seconds; a refusal by UA ends the run.
        func waitUntilAcknowledged(progress: (String) -> Void) throws {
            let sync = SyncStore(sender.store)
            var lastReport = DispatchTime.now()
            while true {
                let streams = try sync.outboundStreams()
                let progressRows = try sync.progress(recipient: ua.urn)
                if let stream = streams.first, stream.lastSequence > 0,
                   progressRows.first?.acknowledged == stream.lastSequence,
                   try sync.firstPendingRecordTime(origin: kz.urn, after: stream.cursor) == nil {
                    return
                }
                if let error = progressRows.first?.lastError, !error.contains("sync.connect") && !error.contains("connect") {
                    throw NodeError(code: "bench.replicate", reason: "UA refused a delta: \(error)")
                }
                if CaptureBenchmark.seconds(since: lastReport) >= 2 {
                    lastReport = DispatchTime.now()
                    progress("  \(progressRows.first?.acknowledged ?? 0) of \(streams.first?.lastSequence ?? 0) deltas acknowledged")
                }
                Thread.sleep(forTimeInterval: 0.01)
            }
        }

        /// The scenario's result once KZ holds every receipt: events UA received per second
        /// since `started`, against the raw insert of the same rows; `done` words the progress line.
        func result(_ scenario: String, since started: DispatchTime, target: String, minimum: Double, workDirectory: URL,
                    progress: (String) -> Void, done: (Int, Double) -> String) throws -> BenchmarkResult {
            let seconds = CaptureBenchmark.seconds(since: started)
            let received = try receiver.store.eventCounts(localOrigin: ua.urn).receivedEvents
            guard received > 0 else { throw NodeError(code: "bench.\(scenario)", reason: "no event reached UA") }
            let figure = Double(received) / seconds
            progress(done(received, seconds))
            return BenchmarkResult(scenario: scenario, figure: figure, unit: "events/s", baseline: try baseline(workDirectory: workDirectory),
                                   baselineName: "raw SQLite insert of the rows received", target: target, meetsTarget: figure >= minimum)
        }

        /// Events per second of a raw SQLite insert of the rows UA stored.
        func baseline(workDirectory: URL) throws -> Double {
            var rows: [CaptureBenchmark.BaselineRow] = []
            var query = EventQuery()
            query.limit = 10_000
            while true {
                let page = try receiver.store.events(matching: query)
                guard let last = page.last else { break }
                for event in page {
                    guard case .object(let object) = try JSONParser.parse(event.raw, limits: EPCISDocumentParser.limits) else { continue }
                    rows.append(CaptureBenchmark.BaselineRow(try EPCISDocumentParser.validateReceived(object, bytes: event.raw, hashID: event.hashID, location: "received")))
                }
                query.afterRowID = last.rowID
            }
            let baselineDatabase = try SerialDatabase(path: workDirectory.appendingPathComponent("baseline.sqlite").path)
            try Schema.migrator.migrate(baselineDatabase)
            let batches = stride(from: 0, to: rows.count, by: 1000).map { Array(rows[$0..<min($0 + 1000, rows.count)]) }
            return Double(rows.count) / (try CaptureBenchmark.rawInsert(batches, into: baselineDatabase))
        }
    }
}
