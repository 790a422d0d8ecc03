import Foundation
import Testing
@testable import CLI
import Model

/// `fedtrace bench` with no scenario runs every scenario; `--json` prints one object per
/// result and `--json-file` writes the same objects as one array (DESIGN §14). Tiny sizes:
/// the figures of a debug build mean nothing, only the shape is checked.
@Suite struct BenchCommandTests {
    /// Every result name the three scenarios produce, in the order they run.
    static let expectedScenarios = [
        "capture",
        "crypto.sign-seal.1KiB", "crypto.open-verify.1KiB", "crypto.sign-seal.1MiB", "crypto.open-verify.1MiB",
        "http.health", "http.capture-1000",
        "replicate", "catchup",
        "enquiry.p50", "enquiry.p99",
    ]

    @Test(.timeLimit(.minutes(2)))
    func everyScenarioWithoutAnArgumentAndTheJSONFileMatchesStdout() throws {
        let cli = try CLIHarness()
        let file = cli.path("bench.json")
        let started = Date()
        let run = cli.run("bench", "--events", "1000", "--seconds", "0.2", "--clients", "1", "--enquiries", "3", "--json", "--json-file", file)
        let elapsed = Date().timeIntervalSince(started)
        #expect(run.status == 0, "\(run.err)")
        #expect(elapsed < 60, "bench with tiny sizes took \(elapsed) s")

        let array = try #require(try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
            .arrayValue, "the --json-file is not a JSON array")
        #expect(array.count == Self.expectedScenarios.count)
        let objects = try array.map { try #require($0.objectValue, "an element is not an object") }
        #expect(objects.map { $0["scenario"]?.stringValue ?? "" } == Self.expectedScenarios)
        for object in objects {
            let name = object["scenario"]?.stringValue ?? "?"
            #expect(Set(object.keys) == ["scenario", "figure", "unit", "baseline", "baselineName", "ratio", "target", "meetsTarget"], "\(name)")
            let figure = try #require(number(object["figure"]), "\(name): figure")
            let baseline = try #require(number(object["baseline"]), "\(name): baseline")
            let ratio = try #require(number(object["ratio"]), "\(name): ratio")
            #expect(figure > 0 && baseline > 0, "\(name): \(figure) vs \(baseline)")
            #expect(abs(ratio - figure / baseline) <= 1e-9 * max(1, ratio), "\(name): ratio \(ratio) is not figure/baseline")
            #expect(object["unit"]?.stringValue.map { $0.hasSuffix("/s") || $0 == "ms" } == true, "\(name): \(object["unit"] ?? .null)")  // rates, or latencies in ms
            #expect(object["target"]?.stringValue?.isEmpty == false, "\(name)")
            #expect(object["baselineName"]?.stringValue?.isEmpty == false, "\(name)")
            guard case .bool = object["meetsTarget"] else { Issue.record("\(name): meetsTarget is not a boolean"); continue }
        }

        // --json on stdout: the same objects, one per line, nothing else.
        let lines = run.out.split(separator: "\n").map { String($0) }
        #expect(lines.count == Self.expectedScenarios.count, "\(run.out)")
        let printed = try lines.map { try JSONParser.parse(Array($0.utf8)) }
        #expect(printed == array)
    }

    private func number(_ value: JSONValue?) -> Double? {
        if case .number(let text)? = value { return Double(text) }
        return nil
    }

    @Test func tableNamesEveryColumnAndOptionsAreCheckedBeforeMeasuring() throws {
        let cli = try CLIHarness()
        let help = cli.run("bench", "--help")
        #expect(help.out.contains("--json-file FILE") && help.out.contains("all of them without SCENARIO"))
        // Refused at once, before a minute of measuring.
        for (arguments, reason) in [(["--seconds", "0"], "--seconds must be a number"),
                                    (["--seconds", "two"], "--seconds must be a number"),
                                    (["--events", "10"], "--events must be an integer"),
                                    (["--json-file", cli.path("missing/bench.json")], "not a writable directory"),
                                    (["capture", "teleport"], "unknown scenario 'teleport'"),
                                    (["--json", "teleport"], "--json ./teleport"),
                                    (["--json", cli.path("a.json"), "--json-file", cli.path("b.json")], "given both")] {
            let started = Date()
            let result = cli.run(["bench"] + arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.err.contains(reason), "\(arguments): \(result.err)")
            #expect(Date().timeIntervalSince(started) < 2, "\(arguments) was not refused up front")
        }
        // One scenario, named twice, runs once; the table has the §14 columns.
        let table = cli.run("bench", "capture", "capture", "--events", "1000")
        #expect(table.status == 0, "\(table.err)")
        let rows = table.out.split(separator: "\n")
        #expect(rows.count == 2, "\(table.out)")
        for column in ["scenario", "figure", "baseline", "ratio", "target"] { #expect(rows.first?.contains(column) == true, "\(column)") }
        #expect(rows.last?.hasPrefix("capture ") == true && rows.last?.contains("events/s") == true)

        // `--json FILE` (a path): the table stays on stdout and FILE gets the JSON array.
        let file = cli.path("capture.json")
        let both = cli.run("bench", "--json", file, "capture", "--events", "1000")
        #expect(both.status == 0, "\(both.err)")
        #expect(both.out.split(separator: "\n").count == 2 && both.out.contains("events/s"), "\(both.out)")
        let array = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: file)))).arrayValue
        #expect(array?.count == 1 && array?.first?.objectValue?["scenario"] == .string("capture"))
    }
}
