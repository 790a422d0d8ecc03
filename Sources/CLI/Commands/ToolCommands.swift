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
    static let scenarios = ["capture", "crypto", "http", "replicate"]

    static let command = Command(
        "bench", summary: "measure a scenario of DESIGN §14 against its same-run physical baseline (use a release build)",
        usage: "[SCENARIO...] [--events N] [--json] [--json-file FILE]",
        options: [
            OptionSpec("events", value: "N", help: "events for the capture and replicate scenarios (default 200000; DESIGN §14 states replicate for 1000000)"),
            OptionSpec("seconds", value: "S", help: "seconds per measurement for the crypto and http scenarios (default 2)"),
            OptionSpec("clients", value: "N", help: "concurrent keep-alive clients for the http scenario (default 8)"),
            jsonOption,
            OptionSpec("json-file", value: "FILE", help: "also write the results as JSON to FILE"),
        ]
    ) { arguments, output in
        let chosen = arguments.positionals.isEmpty ? scenarios : arguments.positionals
        for name in chosen where !scenarios.contains(name) {
            throw UsageError(reason: "unknown scenario '\(name)'; available: \(scenarios.joined(separator: ", "))")
        }
        #if DEBUG
        output.error("note: this is a debug build; figures are only meaningful from 'swift run -c release fedtrace bench'")
        #endif
        let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fedtrace-bench-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var results: [BenchmarkResult] = []
        for name in chosen {
            switch name {
            case "capture":
                let events = try arguments.integer("events", default: 200_000, in: 1000...50_000_000)
                results.append(try CaptureBenchmark.run(events: events, workDirectory: work) { message in
                    if !arguments.flag("json") { output.error("capture: \(message)") }
                })
            case "http":
                results += try HTTPBenchmark.run(seconds: Double(try arguments.integer("seconds", default: 2, in: 1...600)),
                                                 clients: try arguments.integer("clients", default: 8, in: 1...1000),
                                                 workDirectory: work.appendingPathComponent("http")) { message in
                    if !arguments.flag("json") { output.error("http: \(message)") }
                }
            case "replicate":
                let events = try arguments.integer("events", default: 200_000, in: 1000...50_000_000)
                results.append(try ReplicateBenchmark.run(events: events, workDirectory: work.appendingPathComponent("replicate")) { message in
                    if !arguments.flag("json") { output.error("replicate: \(message)") }
                })
            case "crypto":
                results += try runCryptoBenchmark(seconds: Double(try arguments.integer("seconds", default: 2, in: 1...600)))
            default:
                break
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if arguments.flag("json") {
            for result in results { output.line(String(decoding: try encoder.encode(result), as: UTF8.self)) }
        } else {
            output.line(benchmarkTable(results))
        }
        if let file = arguments.value("json-file") {
            try encoder.encode(results).write(to: URL(fileURLWithPath: file))
        }
        return 0
    }
}
