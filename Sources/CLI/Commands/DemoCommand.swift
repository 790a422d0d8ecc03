import Foundation
import Generator
import Model
import Node
import Store

/// `fedtrace demo`: a narrated run on an embedded default, from nothing.
///
/// Today it shows one Party node end to end (initialise, generate a realistic tobacco
/// supply chain, capture, deduplicate by event hash ID, trace a pack, verify the audit
/// chain). The federation parts (hub, three Parties, agreements, replication, enquiries)
/// join it as those layers land.
enum DemoCommand {
    static let command = Command(
        "demo", summary: "run a narrated demonstration on generated data in a throw-away directory",
        usage: "[--keep DIR] [--pallets N]",
        options: [
            OptionSpec("keep", value: "DIR", help: "build the demo in DIR and keep it for exploration"),
            OptionSpec("pallets", value: "N", help: "pallets of cigarettes to generate (default 2, about 8,100 events)"),
        ]
    ) { arguments, output in
        let pallets = try arguments.integer("pallets", default: 2, in: 1...500)
        let keep = arguments.value("keep")
        let root: URL
        if let keep {
            root = URL(fileURLWithPath: keep)
        } else {
            root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fedtrace-demo-\(getpid())")
        }
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw NodeError(code: "demo.directory", reason: "cannot create the demo directory \(root.path): \(describeError(error))")
        }
        guard access(root.path, W_OK) == 0 else {
            throw NodeError(code: "demo.directory", reason: "the demo directory \(root.path) is not writable")
        }
        defer { if keep == nil { try? FileManager.default.removeItem(at: root) } }
        let started = Date()
        func step(_ text: String) { output.line("\n== " + text) }

        output.line("FedTrace demo: one national authority's node, from nothing, on generated data.")
        let kazakhstan = try PartyID(country: "KZ")
        let nodePath = root.appendingPathComponent("kz").path
        step("1. Kazakhstan's tax authority initialises its node")
        let node = try NodeDirectory.initialize(at: nodePath, configuration: NodeConfiguration(party: kazakhstan, role: .party))
        output.line("node \(kazakhstan.urn) in \(nodePath)")

        step("2. Its national T&T system produces EPCIS 2.0 events for \(pallets) pallet\(pallets == 1 ? "" : "s") of cigarettes for Ukraine")
        let generator = try SupplyChainGenerator(SupplyChainConfiguration(seed: 2026, manufacturer: kazakhstan,
                                                                          importer: try PartyID(country: "UA"),
                                                                          transit: try PartyID(country: "GE"), pallets: pallets))
        let files = try generator.writeDocuments(to: root.appendingPathComponent("epcis"), eventsPerDocument: 1000)
        let summary = generator.summary()
        output.line("\(summary.packsCommissioned) packs in \(summary.cartons) cartons, \(summary.cases) master cases, \(summary.pallets) pallets")
        output.line("\(summary.events) events (commissioning, packing, order, dispatch, trans-loading in GE, arrival, invoice, payment) in \(files.count) documents")

        step("3. The node captures them: parse, validate, hash (CBV 2.0 event hash ID), store, index")
        let capture = CaptureService(node: node)
        let captureStart = Date()
        let outcomes = capture.capture(files: files.map(\.path))
        let captureSeconds = Date().timeIntervalSince(captureStart)
        let captured = outcomes.reduce(0) { $0 + ($1.result?.captured ?? 0) }
        if let rejected = outcomes.first(where: { $0.rejection != nil }) { throw NodeError(code: "demo.capture", reason: rejected.rejection!) }
        output.line("captured \(captured) events in \(String(format: "%.1f", captureSeconds)) s")

        step("4. The same documents arrive again (a retry): nothing is stored twice")
        let again = capture.capture(files: files.prefix(2).map(\.path))
        output.line("captured \(again.reduce(0) { $0 + ($1.result?.captured ?? 0) }), duplicates \(again.reduce(0) { $0 + ($1.result?.duplicates ?? 0) })")

        guard let sample = summary.samplePacks.dropFirst().first ?? summary.samplePacks.first else { return 0 }
        step("5. An officer asks: where did this pack come from?")
        output.line("$ fedtrace trace --data \(nodePath) \(sample.pack)")
        let trace = try node.store.trace(uim: sample.pack, maxUIMs: 100)
        for level in trace.levels.filter({ $0.depth < 0 }).sorted(by: { $0.depth > $1.depth }) {
            let kind = level.uim == sample.carton ? "carton" : level.uim == sample.masterCase ? "master case" : level.uim == sample.pallet ? "pallet" : "container"
            output.line("  packed into \(kind): \(level.uim)")
        }
        for event in trace.events {
            output.line("  \(event.eventTime)  \(event.type.replacingOccurrences(of: "Event", with: ""))  \(EventRendering.short(event.bizStep))")
        }

        step("6. The audit log is a hash chain; the node checks it")
        let audit = try node.store.verifyAudit()
        output.line(audit.isIntact ? "intact: \(audit.recordCount) records" : "BROKEN: \(audit.problem ?? "")")

        step("Summary")
        output.line("\(captured) events captured at \(Int(Double(captured) / max(captureSeconds, 0.001))) events/s (debug builds are slower), \(trace.events.count) events in one pack's trace, audit \(audit.isIntact ? "intact" : "broken"); \(String(format: "%.1f", Date().timeIntervalSince(started))) s in all")
        if keep != nil {
            output.line("kept in \(root.path). Continue with:")
            output.line("  fedtrace status --data \(nodePath)")
            output.line("  fedtrace events --data \(nodePath) --biz-step shipping")
            output.line("  fedtrace trace --data \(nodePath) \(sample.pallet)")
            output.line("  fedtrace audit verify --data \(nodePath)")
        }
        return audit.isIntact ? 0 : 1
    }

    static func describeError(_ error: any Error) -> String {
        (error as NSError).localizedDescription
    }
}
