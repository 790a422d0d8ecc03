import Foundation
import Crypto
import Generator
import Model
import Node
import Policy
import Store
import Sync

/// `fedtrace bench replicate` (DESIGN §14): generated events captured at a KZ node replicate
/// to a UA node over mutual TLS on loopback, end to end — filter, redact, sign, seal, send
/// (pipelined), open, verify, re-check, commit, signed receipt — timed from the moment both
/// nodes start until the sender holds a receipt for its last delta. The capture at KZ is
/// setup and is not timed. Baseline: a raw SQLite insert of the rows UA stored (prepared
/// statements, one transaction per 1,000 rows), measured in the same run.
public enum ReplicateBenchmark {
    public static func run(events: Int, workDirectory: URL, progress: (String) -> Void = { _ in }) throws -> BenchmarkResult {
        let kz = try PartyID(country: "KZ"), ua = try PartyID(country: "UA")
        let pki = try BenchPKI(leaves: [kz, ua].flatMap(BenchPKI.folderLeaves))
        defer { pki.remove() }
        // One certificate folder and one node per Party.
        var nodes: [OpenNode] = []
        for party in [kz, ua] {
            let folder = workDirectory.appendingPathComponent("certs-\(party.code)").path
            try pki.installFolder(party, at: folder)
            let configuration = NodeConfiguration(party: party, role: .party, apiListen: "127.0.0.1:0", federationListen: "127.0.0.1:0")
            nodes.append(try NodeDirectory.initialize(at: workDirectory.appendingPathComponent("node-\(party.code)").path,
                                                      configuration: configuration, certificates: folder))
        }
        let (sender, receiver) = (nodes[0], nodes[1])

        // A bilateral agreement whose KZ → UA flow takes every event with Article 8.4.1 (a), (f), (g), (h), (j).
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

        // Setup (not timed): capture the generated events at KZ.
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
        documents = []

        // The figure: start both nodes and replicate everything.
        var settings = SyncService.Settings()
        settings.tick = .milliseconds(20)
        settings.peerRefreshInterval = 0.02
        settings.limits.maxAge = 0.02
        progress("replicating KZ → UA over mutual TLS on loopback")
        let started = DispatchTime.now()
        let receiverServer = try NodeServer.start(node: receiver, syncSettings: settings)
        defer { receiverServer.shutdown(timeout: .seconds(5)) }
        let senderServer = try NodeServer.start(node: sender, syncSettings: settings)
        defer { senderServer.shutdown(timeout: .seconds(5)) }
        let sync = SyncStore(sender.store)
        try sync.addPeer(party: ua.urn, endpoint: "127.0.0.1:\(receiverServer.federationPort ?? 0)", sealingCertificate: nil)
        var lastReport = DispatchTime.now()
        while true {
            let streams = try sync.outboundStreams()
            let progressRows = try sync.progress(recipient: ua.urn)
            if let stream = streams.first, stream.lastSequence > 0,
               progressRows.first?.acknowledged == stream.lastSequence,
               try sync.firstPendingRecordTime(origin: kz.urn, after: stream.cursor) == nil {
                break
            }
            if let error = progressRows.first?.lastError { throw NodeError(code: "bench.replicate", reason: "UA refused a delta: \(error)") }
            if Double(DispatchTime.now().uptimeNanoseconds - lastReport.uptimeNanoseconds) / 1e9 >= 5 {
                lastReport = DispatchTime.now()
                progress("  created \(streams.first?.lastSequence ?? 0) deltas, acknowledged \(progressRows.first?.acknowledged ?? 0)")
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let seconds = CaptureBenchmark.seconds(since: started)
        let received = try receiver.store.counts(localOrigin: ua.urn).receivedEvents
        guard received > 0 else { throw NodeError(code: "bench.replicate", reason: "no event reached UA") }
        let figure = Double(received) / seconds
        progress("replicated \(received) of \(total) events in \(String(format: "%.2f", seconds)) s")

        // The baseline: the rows UA stored, inserted raw into a fresh store.
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
        let baselineStarted = DispatchTime.now()
        try baselineDatabase.read { db in
            let insertEvent = try db.prepare("INSERT INTO events(hash_id, declares_error, type, event_time, event_time_text, time_zone_offset, record_time, action, biz_step, disposition, read_point, biz_location, origin, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            let insertUIM = try db.prepare("INSERT INTO uims(uim, event_id, role) VALUES (?, ?, ?)")
            for chunk in stride(from: 0, to: rows.count, by: 1000) {
                try db.execute("BEGIN IMMEDIATE")
                for row in rows[chunk..<min(chunk + 1000, rows.count)] {
                    insertEvent.reset()
                    try insertEvent.bind(row.values)
                    try insertEvent.run()
                    let id = db.lastInsertRowID
                    for (uim, role) in row.uims {
                        insertUIM.reset()
                        try insertUIM.bind([.text(uim), .integer(id), .text(role)])
                        try insertUIM.run()
                    }
                }
                try db.execute("COMMIT")
            }
        }
        let baseline = Double(rows.count) / CaptureBenchmark.seconds(since: baselineStarted)
        return BenchmarkResult(scenario: "replicate", figure: figure, unit: "events/s", baseline: baseline,
                               baselineName: "raw SQLite insert of the rows received", target: "1,000,000 events in ≤ 10 s (≥ 100000 events/s)",
                               meetsTarget: figure >= 100_000)
    }
}
