import Foundation
import Crypto
import Generator
import Model
import Store

/// `fedtrace bench capture`: EPCIS JSON → parsed, validated, hashed, stored and indexed,
/// against a raw SQLite insert of exactly the same rows (prepared statements, one
/// transaction per document, same schema) measured in the same run.
public enum CaptureBenchmark {
    /// Runs the scenario on `events` generated events in documents of `eventsPerDocument`.
    public static func run(events: Int, eventsPerDocument: Int = 10_000, workDirectory: URL,
                           progress: (String) -> Void = { _ in }) throws -> BenchmarkResult {
        let configuration = SupplyChainConfiguration.configuration(approximateEvents: events, seed: 7)
        let generator = try SupplyChainGenerator(configuration)
        var documents: [[UInt8]] = []
        generator.forEachDocument(eventsPerDocument: eventsPerDocument) { documents.append($0) }
        let totalEvents = generator.summary().events
        progress("generated \(totalEvents) events in \(documents.count) documents (\(documents.reduce(0) { $0 + $1.count } >> 20) MiB)")

        // The figure: the whole capture path into a fresh store.
        let storePath = workDirectory.appendingPathComponent("capture.sqlite").path
        let store = try EventStore(path: storePath)
        let origin = try PartyID(country: "KZ")
        let started = DispatchTime.now()
        try CapturePipeline.run(documents: documents, parse: { index, bytes in
            // As `fedtrace capture` does it: the JSON read here, the events validated on every
            // core while the writer stores the slices already done.
            let document = try EPCISDocumentParser.begin(bytes, name: "bench-\(index)")
            return (SHA256.hexHash(bytes), document)
        }, store: { index, parsed, _ in
            _ = try store.capture(parsed.1, origin: origin, actor: "bench", source: "bench-\(index)", documentDigest: parsed.0)
        })
        let captureSeconds = seconds(since: started)
        let figure = Double(totalEvents) / captureSeconds
        progress("captured in \(String(format: "%.2f", captureSeconds)) s")

        // The baseline: the same rows, precomputed, inserted raw.
        let baselinePath = workDirectory.appendingPathComponent("baseline.sqlite").path
        let baselineDatabase = try SerialDatabase(path: baselinePath)
        try Schema.migrator.migrate(baselineDatabase)
        // Rows are prepared outside the timed section (parsing again costs nothing measured).
        let parseStarted = DispatchTime.now()
        let parsed = try documents.enumerated().map { index, bytes in try EPCISDocumentParser.parse(bytes, name: "bench-\(index)") }
        // Context for the figure, not part of it: the parse stage alone (it slices large documents over every core).
        progress("parse stage alone (every core): \(Int(Double(totalEvents) / seconds(since: parseStarted))) events/s")
        let rows = parsed.map { $0.events.map(BaselineRow.init) }
        let baselineSeconds = try rawInsert(rows, into: baselineDatabase)
        let baseline = Double(totalEvents) / baselineSeconds
        progress("raw SQLite insert of the same rows in \(String(format: "%.2f", baselineSeconds)) s")
        return BenchmarkResult(scenario: "capture", figure: figure, unit: "events/s", baseline: baseline,
                               baselineName: "raw SQLite insert of the same rows", target: "≥ 100000 events/s",
                               meetsTarget: figure >= 100_000)
    }

    /// The physical baseline of DESIGN §14: seconds to insert `batches` of rows (one
    /// transaction per batch) into the store's own tables with prepared statements,
    /// nothing else — no parsing, checks, audit or conflict handling. Each batch's postings
    /// are sorted and packed into the index's blocks outside the timed part (row IDs of a
    /// fresh database are known in advance) and written as one run; runs are never merged.
    static func rawInsert(_ batches: [[BaselineRow]], into database: SerialDatabase) throws -> Double {
        var firstID: Int64 = 1
        let blocks = batches.map { batch -> [PostingIndex.Block] in
            defer { firstID += Int64(batch.count) }
            let postings = batch.enumerated().flatMap { index, row in
                row.uims.map { PostingIndex.Posting(uim: $0.0, eventID: firstID + Int64(index), role: $0.1) }
            }
            return PostingIndex.blocks(of: postings)
        }
        let started = DispatchTime.now()
        try database.read { db in
            let insertEvent = try db.prepare("INSERT INTO events(hash_id, declares_error, type, event_time, event_time_text, time_zone_offset, record_time, action, biz_step, disposition, read_point, biz_location, origin, raw, parent, hash_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            let insertRun = try db.prepare("INSERT INTO posting_runs(run, postings, level) VALUES (?, ?, 0)")
            var expectedID: Int64 = 1
            for (number, batch) in batches.enumerated() {
                try db.execute("BEGIN IMMEDIATE")
                for row in batch {
                    insertEvent.reset()
                    try insertEvent.bind(row.values)
                    try insertEvent.run()
                    guard db.lastInsertRowID == expectedID else {
                        throw StoreError(code: "bench.baseline", reason: "the baseline needs a fresh database (row \(db.lastInsertRowID), expected \(expectedID))")
                    }
                    expectedID += 1
                }
                let run = Int64(number + 1)
                for block in blocks[number] { try PostingIndex.insert(db, block, run: run) }
                insertRun.reset()
                try insertRun.bind([.integer(run), .integer(Int64(blocks[number].reduce(0) { $0 + $1.count }))]).run()
                try db.execute("COMMIT")
            }
        }
        return seconds(since: started)
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    /// The exact column values the store writes for one event.
    struct BaselineRow {
        let values: [SQLValue]
        let uims: [(String, String)]

        init(_ event: EPCISEvent) {
            func text(_ s: String?) -> SQLValue { s.map(SQLValue.text) ?? .null }
            values = [.text(event.hashID), .integer(event.declaresError ? 1 : 0), .text(event.type.rawValue),
                      .integer(event.eventTime.epochMilliseconds), .text(event.eventTime.canonicalUTC), .text(event.eventTimeZoneOffset),
                      .integer(0), text(event.action), text(event.bizStep), text(event.disposition), text(event.readPoint),
                      text(event.bizLocation), .text("urn:fctc:party:KZ"), .blob(event.stored), text(event.parentID),
                      .integer(EventHashKey.of(event.hashID))]
            uims = event.uims.map { ($0.uim, $0.role.rawValue) }
        }
    }
}
