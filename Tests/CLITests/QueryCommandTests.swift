import Foundation
import Testing
import Model

/// `events` order and limits, `capture --json` hash IDs, and help for command groups.
@Suite struct QueryCommandTests {
    static func event(_ serial: String, time: String) -> String {
        #"{"type":"ObjectEvent","eventTime":"\#(time)","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"shipping","epcList":["urn:epc:id:sgtin:4870001.000004.\#(serial)"]}"#
    }

    static func document(_ events: [String]) -> String {
        #"{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[\#(events.joined(separator: ","))]}}"#
    }

    func node() throws -> (CLIHarness, String) {
        let cli = try CLIHarness()
        let data = cli.path("kz")
        #expect(cli.run("init", "--party", "KZ", "--data", data).status == 0)
        return (cli, data)
    }

    @Test func eventsAreListedOldestFirstAndACutListSaysSo() throws {
        let (cli, data) = try node()
        // Captured newest first: storage order is the reverse of time order.
        let file = try cli.write("d.json", Self.document([Self.event("A", time: "2019-01-01T00:00:00Z"), Self.event("B", time: "2005-01-01T00:00:00Z"),
                                                         Self.event("C", time: "2010-01-01T00:00:00Z")]))
        #expect(cli.run("capture", "--data", data, file).status == 0)
        let all = cli.run("events", "--data", data)
        let times = all.out.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.hasPrefix("20") }
        #expect(times == ["2005-01-01T00:00:00.000Z", "2010-01-01T00:00:00.000Z", "2019-01-01T00:00:00.000Z"])
        #expect(all.out.hasSuffix("3 events\n"))

        let cut = cli.run("events", "--data", data, "--limit", "1")
        #expect(cut.out.hasPrefix("2005-01-01T00:00:00.000Z"))
        #expect(cut.out.contains("1 event (the oldest 1; more match"))
        let cutJSON = cli.run("events", "--data", data, "--limit", "2", "--json")
        let list = try JSONParser.parse(Array(cutJSON.out.utf8)).arrayValue ?? []
        #expect(list.count == 2)
        #expect(list.first?.objectValue?["eventTime"] == .string("2005-01-01T00:00:00.000Z"))
        #expect(cutJSON.err.contains("more events match"))
        let whole = cli.run("events", "--data", data, "--limit", "3", "--json")
        #expect(whole.err.isEmpty && !whole.out.isEmpty)
    }

    /// `eventHashIDs` has one entry per event in document order, duplicates included.
    @Test func captureListsHashIDsInDocumentOrder() throws {
        let (cli, data) = try node()
        let e0 = Self.event("A", time: "2019-01-01T00:00:00Z"), e1 = Self.event("B", time: "2005-01-01T00:00:00Z")
        let file = try cli.write("twice.json", Self.document([e0, e0, e1]))
        let result = cli.run("capture", "--data", data, file, "--json")
        #expect(result.status == 0)
        let documents = try JSONParser.parse(Array(result.out.utf8)).objectValue?["documents"]?.arrayValue ?? []
        let ids = documents.first?.objectValue?["eventHashIDs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(ids.count == 3)
        #expect(ids[0] == ids[1] && ids[0] != ids[2])
        let stored = try JSONParser.parse(Array(cli.run("events", "--data", data, "--json").out.utf8)).arrayValue ?? []
        #expect(stored.compactMap { $0.objectValue?["eventHashID"]?.stringValue }.sorted() == [ids[0], ids[2]].sorted())
    }

    /// The event's own times are RFC 3339 date-times (the EPCIS 2.0 schema's `date-time`).
    @Test(arguments: [
        ("2005-04-04T20:33:60.116-06:00", false),   // a leap second is not folded into the next minute
        ("2020-02-01T10:00:00+0200", false),        // offset without a colon
        ("2020-02-01T10:00+02:00", false),          // no seconds
        ("2020-02-01T24:00:00+02:00", false),       // hour 24
        ("2020-02-01T10:00:00,5+02:00", false),     // comma fraction
        ("2020-02-01T10:00:00.5+02:00", true),
        ("2020-02-01t10:00:00z", true),             // RFC 3339 allows lower case
    ])
    func eventTimesAreRFC3339(time: String, valid: Bool) throws {
        let (cli, data) = try node()
        let file = try cli.write("t.json", Self.document([Self.event("T", time: time)]))
        let result = cli.run("capture", "--data", data, file)
        #expect(result.status == (valid ? 0 : 1), "\(time): \(result.err)")
        if !valid { #expect(result.err.contains("field 'eventTime'") && result.err.contains(time)) }
    }

    @Test func aDocumentWithoutItsBodySaysSo() throws {
        let (cli, data) = try node()
        let file = try cli.write("nobody.json", #"{"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z"}"#)
        let result = cli.run("capture", "--data", data, file)
        #expect(result.status == 1)
        #expect(result.err.contains("an EPCISDocument needs an 'epcisBody' object; it is missing"), "\(result.err)")
        #expect(!result.err.contains("is not an EPCIS document or event type"))
    }

    @Test func helpForGroupsAndShortFlag() throws {
        let cli = try CLIHarness()
        let group = cli.run("audit", "--help")
        #expect(group.status == 0 && group.out.contains("audit verify") && group.out.contains("audit list"))
        let short = cli.run("capture", "-h")
        #expect(short.status == 0 && short.out.hasPrefix("usage: fedtrace capture"))
        #expect(cli.run("trace", "--help").out.contains("[--max-uims N]"))
    }
}
