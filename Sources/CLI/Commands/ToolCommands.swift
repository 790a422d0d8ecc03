import Foundation
import Bench
import Generator
import Model
import Node
import Store

enum GenerateCommand {
    static let command = Command(
        "gen", summary: "write a synthetic tobacco supply chain as EPCIS 2.0 documents (deterministic for a seed)",
        usage: "--out DIR [--events N | --pallets N] [--seed S] [--from XX] [--to XX] [--via XX] [--per-document N] [--json]",
        options: [
            OptionSpec("out", value: "DIR", help: "directory to write epcis-NNNNNN.jsonld files into (created if needed)"),
            OptionSpec("events", value: "N", help: "about N events (default 10000)"),
            OptionSpec("pallets", value: "N", help: "exactly N pallets of 40 cases × 50 cartons × 10 packs (instead of --events)"),
            OptionSpec("seed", value: "S", help: "random seed (default 1)"),
            OptionSpec("from", value: "XX", help: "manufacturer's Party (default KZ)"),
            OptionSpec("to", value: "XX", help: "importer's Party (default UA)"),
            OptionSpec("via", value: "XX", help: "transit Party for trans-loading (default GE; 'none' for a direct route)"),
            OptionSpec("per-document", value: "N", help: "events per document (default 1000)"),
            jsonOption,
        ]
    ) { arguments, output in
        let out = try arguments.required("out")
        let seed = UInt64(try arguments.integer("seed", default: 1))
        let from = try arguments.party("from") ?? SupplyChainConfiguration.defaultManufacturer
        let to = try arguments.party("to") ?? SupplyChainConfiguration.defaultImporter
        let via = arguments.value("via") == "none" ? nil : try arguments.party("via") ?? SupplyChainConfiguration.defaultTransit
        var configuration: SupplyChainConfiguration
        if arguments.value("pallets") != nil {
            guard arguments.value("events") == nil else { throw UsageError(reason: "give --events or --pallets, not both") }
            configuration = SupplyChainConfiguration(seed: seed, manufacturer: from, importer: to, transit: via,
                                                     pallets: try arguments.integer("pallets", default: 1, in: 1...100_000))
        } else {
            configuration = SupplyChainConfiguration.configuration(approximateEvents: try arguments.integer("events", default: 10_000, in: 1...100_000_000),
                                                                   seed: seed, manufacturer: from, importer: to, transit: via)
        }
        let generator: SupplyChainGenerator
        do throws(GeneratorError) { generator = try SupplyChainGenerator(configuration) } catch { throw UsageError(reason: error.reason) }
        let files = try generator.writeDocuments(to: URL(fileURLWithPath: out), eventsPerDocument: try arguments.integer("per-document", default: 1000, in: 1...1_000_000))
        let summary = generator.summary()
        if arguments.flag("json") {
            output.json(.object([
                "out": .string(out), "files": .number(String(files.count)), "events": .number(String(summary.events)),
                "pallets": .number(String(summary.pallets)), "cases": .number(String(summary.cases)),
                "cartons": .number(String(summary.cartons)), "packs": .number(String(summary.packsCommissioned)),
                "samplePacks": .array(summary.samplePacks.map { .object(["pack": .string($0.pack), "carton": .string($0.carton), "case": .string($0.masterCase), "pallet": .string($0.pallet)]) }),
            ]))
        } else {
            output.line("wrote \(summary.events) events in \(files.count) documents to \(out)")
            output.line("\(summary.pallets) pallets, \(summary.cases) master cases, \(summary.cartons) cartons, \(summary.packsCommissioned) packs, \(summary.shipments) shipments \(from.code) → \(to.code)")
            if let sample = summary.samplePacks.first { output.line("a pack to trace: \(sample.pack)") }
        }
        return 0
    }
}

enum BenchCommand {
    static let scenarios = ["capture", "crypto", "http", "replicate", "catchup", "enquiry"]

    static let command = Command(
        "bench", summary: "measure DESIGN §14 scenarios (capture, crypto, http, replicate, catchup, enquiry; all of them without SCENARIO) against same-run physical baselines (use a release build)",
        usage: "[SCENARIO...] [--events N] [--seconds S] [--clients N] [--enquiries N] [--json [FILE]] [--json-file FILE]",
        options: [
            OptionSpec("events", value: "N", help: "events for the capture, replicate and catchup scenarios (defaults \(defaultCaptureEvents), \(defaultReplicateEvents) and \(defaultReplicateEvents); figures fall as the store grows, so compare runs of the same size; DESIGN §14 states replicate and catchup for 1000000)"),
            OptionSpec("seconds", value: "S", help: "seconds per measurement for the crypto and http scenarios, fractions allowed (default 2; openssl speed runs whole seconds)"),
            OptionSpec("clients", value: "N", help: "concurrent keep-alive clients for the http scenario (default 8)"),
            OptionSpec("enquiries", value: "N", help: "round trips measured by the enquiry scenario (default 100)"),
            OptionSpec("json", help: "print one JSON object per result line instead of the table (scenario, figure, unit, baseline, baselineName, ratio, target, meetsTarget); '--json FILE' (a path with '/' or '.') is --json-file FILE"),
            OptionSpec("json-file", value: "FILE", help: "also write every result as one JSON array (same objects as --json) to FILE; stdout is unchanged"),
        ]
    ) { arguments, output in
        // `--json FILE` (as the issue and the README write it) is `--json-file FILE`: with
        // --json, a positional that is not a scenario and looks like a path names the file.
        // A bare word stays a scenario name, so a typo is refused rather than written to.
        var positionals = arguments.positionals
        var jsonFileArgument = arguments.value("json-file")
        var jsonFileFollowsFlag = false
        if arguments.flag("json"), let index = positionals.firstIndex(where: { !scenarios.contains($0) && ($0.contains("/") || $0.contains(".")) }) {
            guard jsonFileArgument == nil else { throw UsageError(reason: "--json FILE and --json-file FILE given both; give one") }
            jsonFileArgument = positionals.remove(at: index)
            jsonFileFollowsFlag = true
        }
        // Scenarios: the ones named, in order and once each; none means every scenario.
        var chosen: [String] = []
        for name in positionals.isEmpty ? scenarios : positionals where !chosen.contains(name) {
            guard scenarios.contains(name) else {
                throw UsageError(reason: "unknown scenario '\(name)'; available: \(scenarios.joined(separator: ", ")) (to write JSON to a file, give a path: --json ./\(name))")
            }
            chosen.append(name)
        }
        // Every option is checked before anything is measured: a typo must not cost a minute.
        let captureEvents = try arguments.integer("events", default: defaultCaptureEvents, in: 1000...50_000_000)
        let replicateEvents = try arguments.integer("events", default: defaultReplicateEvents, in: 1000...50_000_000)
        let seconds = try decimal(arguments, "seconds", default: 2, in: 0.05...600)
        let clients = try arguments.integer("clients", default: 8, in: 1...1000)
        let enquiries = try arguments.integer("enquiries", default: 100, in: 1...100_000)
        let jsonFile = jsonFileArgument
        if let jsonFile {
            let parent = URL(fileURLWithPath: jsonFile).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue,
                  FileManager.default.isWritableFile(atPath: parent) else {
                throw UsageError(reason: "--json-file: \(parent) is not a writable directory")
            }
        }
        // --json replaces the table with JSON lines; `--json FILE` keeps the table on stdout.
        let quiet = arguments.flag("json") && !jsonFileFollowsFlag
        #if DEBUG
        output.error("note: this is a debug build; figures are only meaningful from 'swift run -c release fedtrace bench'")
        #endif
        // A fresh directory per run (two runs in one process must not share a store).
        let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fedtrace-bench-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var results: [BenchmarkResult] = []
        for name in chosen {
            let progress: (String) -> Void = { message in if !quiet { output.error("\(name): \(message)") } }
            switch name {
            case "capture":
                results.append(try CaptureBenchmark.run(events: captureEvents, workDirectory: work, progress: progress))
            case "http":
                results += try HTTPBenchmark.run(seconds: seconds, clients: clients, workDirectory: work.appendingPathComponent("http"), progress: progress)
            case "replicate":
                results.append(try ReplicateBenchmark.run(events: replicateEvents, workDirectory: work.appendingPathComponent("replicate"), progress: progress))
            case "catchup":
                results.append(try ReplicateBenchmark.runCatchUp(events: replicateEvents, workDirectory: work.appendingPathComponent("catchup"), progress: progress))
            case "crypto":
                results += try runCryptoBenchmark(seconds: seconds, progress: progress)
            case "enquiry":
                results += try EnquiryBenchmark.run(enquiries: enquiries, workDirectory: work.appendingPathComponent("enquiry"), progress: progress)
            default:
                break
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if quiet {
            for result in results { output.line(String(decoding: try encoder.encode(result), as: UTF8.self)) }
        } else {
            output.line(benchmarkTable(results))
        }
        if let jsonFile {
            try (encoder.encode(results) + Data("\n".utf8)).write(to: URL(fileURLWithPath: jsonFile), options: .atomic)
        }
        return 0
    }

    /// Default sizes: large enough for a stable figure, small enough that `fedtrace bench`
    /// (every scenario) takes about a minute in a release build on a 2-core machine.
    /// `--events` sets both.
    static let defaultCaptureEvents = 30_000
    static let defaultReplicateEvents = 10_000

    /// A decimal option within `range`, or `defaultValue`.
    static func decimal(_ arguments: ParsedArguments, _ name: String, default defaultValue: Double,
                        in range: ClosedRange<Double>) throws(UsageError) -> Double {
        guard let text = arguments.value(name) else { return defaultValue }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw UsageError(reason: "--\(name) must be a number in \(range.lowerBound)…\(range.upperBound), got '\(text)'")
        }
        return value
    }
}
