import Foundation
import Testing
@testable import CLI
import Model

/// Issue 3, "Bad input": each refused with a one-line reason naming the location, a
/// non-zero exit, nothing partial stored for that document, the store still consistent.
@Suite struct BadInputTests {
    static let goodEvent = #"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD","epcList":["https://id.gs1.org/01/04870001000011/21/OK1"]}"#

    static func document(_ events: String...) -> String {
        #"{"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[\#(events.joined(separator: ","))]}}"#
    }

    func node() throws -> (CLIHarness, String) {
        let cli = try CLIHarness()
        let data = cli.path("node")
        #expect(cli.run("init", "--party", "KZ", "--data", data).status == 0)
        #expect(cli.run("capture", "--data", data, try cli.write("good.json", Self.document(Self.goodEvent))).status == 0)
        return (cli, data)
    }

    func expectRefused(_ cli: CLIHarness, _ data: String, _ file: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = cli.run("capture", "--data", data, file)
        #expect(result.status == 1, sourceLocation: sourceLocation)
        #expect(result.err.split(separator: "\n").count == 1, "one line: \(result.err)", sourceLocation: sourceLocation)
        #expect(result.err.contains(file), "names the file: \(result.err)", sourceLocation: sourceLocation)
        #expect(result.err.contains(fragment), "\(result.err)", sourceLocation: sourceLocation)
        let status = try JSONParser.parse(Array(cli.run("status", "--data", data, "--json").out.utf8)).objectValue
        #expect(status?["events"] == .number("1"), "nothing partial stored", sourceLocation: sourceLocation)
        #expect(cli.run("audit", "verify", "--data", data).status == 0, sourceLocation: sourceLocation)
    }

    static let secondBad = #"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD","epcList":["https://id.gs1.org/01/04870001000011/21/NEW"]}"#

    @Test func malformedJSON() throws {
        let (cli, data) = try node()
        try expectRefused(cli, data, try cli.write("bad.json", "{\"type\": \"EPCISDocument\",\n \"epcisBody\": [1, 2,]}"), "line 2, column")
    }

    @Test func wrongJSONTypes() throws {
        let (cli, data) = try node()
        let bad = Self.secondBad.replacingOccurrences(of: #""epcList":["#, with: #""epcList":[42,"#)
        try expectRefused(cli, data, try cli.write("types.json", Self.document(Self.secondBad, bad)), "event 1: field 'epcList[0]': must be a non-empty string, found a number")
    }

    @Test func missingRequiredFields() throws {
        let (cli, data) = try node()
        for (field, name) in [("eventTime", "time.json"), ("eventTimeZoneOffset", "offset.json"), ("action", "action.json")] {
            let bad = Self.secondBad.replacingOccurrences(of: #""\#(field)":"#, with: #""x\#(field)":"#)
            try expectRefused(cli, data, try cli.write(name, Self.document(Self.secondBad, bad)), "event 1: field '\(field)': is required")
        }
    }

    @Test func invalidTimestamps() throws {
        let (cli, data) = try node()
        let bad = Self.secondBad.replacingOccurrences(of: "2024-01-01T10:00:00Z", with: "2024-02-30T10:00:00Z")
        try expectRefused(cli, data, try cli.write("ts.json", Self.document(Self.secondBad, bad)), "field 'eventTime': '2024-02-30T10:00:00Z' is not a valid timestamp")
    }

    @Test func nonUTF8Bytes() throws {
        let (cli, data) = try node()
        var bytes = Array(Self.document(Self.secondBad).utf8)
        let at = bytes.firstIndex(of: UInt8(ascii: "N"))!
        bytes[at] = 0xC3
        bytes.insert(0x28, at: at + 1)
        try expectRefused(cli, data, try cli.write("latin1.json", bytes), "UTF-8")
    }

    @Test func deeplyNestedJSON() throws {
        let (cli, data) = try node()
        let nested = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let bad = Self.secondBad.dropLast() + #","tt:deep":\#(nested)}"#
        try expectRefused(cli, data, try cli.write("deep.json", Self.document(String(bad))), "nesting deeper than 64 levels")
    }

    @Test func oneGibibyteFileIsRefusedBeforeReading() throws {
        let (cli, data) = try node()
        let path = cli.path("huge.json")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 1 << 30)   // sparse: no disk used
        try handle.close()
        try expectRefused(cli, data, path, "1 GiB is larger than the 256 MiB limit")
    }

    @Test func missingAndUnreadableFiles() throws {
        let (cli, data) = try node()
        try expectRefused(cli, data, cli.path("absent.json"), "No such file")
        try expectRefused(cli, data, cli.root.path, "not a regular file")
    }

    @Test func aBadDocumentDoesNotStopTheGoodOnes() throws {
        let (cli, data) = try node()
        let good = try cli.write("good2.json", Self.document(Self.secondBad))
        let bad = try cli.write("bad2.json", "not json")
        let result = cli.run("capture", "--data", data, bad, good)
        #expect(result.status == 1)
        #expect(result.out.contains("events: captured 1 / duplicate 0; documents rejected: 1 of 2"))
    }

    /// A refused document is audited (`capture.rejected`): where the error points and what
    /// was read, never the reason text (it may quote the document's values).
    @Test func aRefusedDocumentIsAudited() throws {
        let (cli, data) = try node()
        let badEvent = Self.secondBad.replacingOccurrences(of: "2024-01-01T10:00:00Z", with: "2024-13-01T10:00:00Z")
        let bad = try cli.write("bad-time.json", Self.document(Self.goodEvent, badEvent))
        #expect(cli.run("capture", "--data", data, bad, cli.path("absent.json")).status == 1)
        let records = try JSONParser.parse(Array(cli.run("audit", "list", "--data", data, "--json").out.utf8)).arrayValue ?? []
        let rejected = records.filter { $0.objectValue?["action"] == .string("capture.rejected") }.compactMap { $0.objectValue?["detail"]?.objectValue }
        #expect(rejected.count == 2)
        let time = try #require(rejected.first { $0["source"] == .string(bad) })
        #expect(time["code"] == .string("epcis.validation") || time["code"]?.stringValue?.hasPrefix("epcis.") == true)
        #expect(time["event"] == .number("1") && time["field"] == .string("eventTime"))
        #expect(time["documentDigest"]?.stringValue?.count == 64 && time["bytes"] != nil)
        #expect(!JSONWriter.string(.object(time)).contains("2024-13-01"), "no values of the document")
        let absent = try #require(rejected.first { $0["source"] == .string(cli.path("absent.json")) })
        #expect(absent["code"] == .string("capture.unreadable") && absent["documentDigest"] == nil)
        #expect(cli.run("audit", "verify", "--data", data).status == 0)
    }

    /// Files are parsed one ahead of the store (CapturePipeline): outcomes still come in
    /// the order given, and each file stands alone.
    @Test func filesAreReportedInOrderWhateverEachOutcome() throws {
        let (cli, data) = try node()
        let third = Self.secondBad.replacingOccurrences(of: "/21/NEW", with: "/21/THIRD")
        let files = [
            try cli.write("o1.json", "not json"),
            try cli.write("o2.json", Self.document(Self.secondBad)),
            cli.path("o3-absent.json"),
            try cli.write("o4.json", Self.document(third)),
            try cli.write("o5.json", Self.document(Self.secondBad)),
        ]
        let result = cli.run(["capture", "--data", data] + files)
        #expect(result.status == 1)
        // Stored files are reported on stdout, rejected ones on stderr, each in file order.
        func positions(_ text: String, _ names: [String]) -> [Int] {
            let lines = text.split(separator: "\n").map(String.init)
            return names.compactMap { name in lines.firstIndex { $0.contains(name) } }
        }
        #expect(positions(result.out, [files[1], files[3], files[4]]) == [0, 1, 2])
        #expect(positions(result.err, [files[0], files[2]]) == [0, 1])
        #expect(result.out.contains("events: captured 2 / duplicate 1; documents rejected: 2 of 5"))
    }

    @Test func auditVerifyNamesTheFirstBadRecordAfterTampering() throws {
        let (cli, data) = try node()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [data + "/fedtrace.sqlite", "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 2;"]
        try process.run()
        process.waitUntilExit()
        let result = cli.run("audit", "verify", "--data", data)
        #expect(result.status == 1)
        #expect(result.err.contains("broken at record 2"))
    }
}
