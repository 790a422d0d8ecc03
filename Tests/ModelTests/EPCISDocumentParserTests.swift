import Foundation
import Testing
@testable import Model

@Suite struct EPCISDocumentParserTests {
    static func document(_ events: [String]) -> [UInt8] {
        Array(("""
        {"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"tt":"https://ns.fedtrace.org/tobacco/1/"}],
         "type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z",
         "epcisBody":{"eventList":[\(events.joined(separator: ","))]}}
        """).utf8)
    }

    static let good = #"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00.000+05:00","eventTimeZoneOffset":"+05:00","action":"ADD","bizStep":"commissioning","epcList":["https://id.gs1.org/01/04870001000011/21/ABC"],"ilmd":{"tt:intendedMarket":"UA"},"tt:custom":{"a":[1,2]}}"#

    func reason(_ bytes: [UInt8]) -> String? {
        do {
            _ = try EPCISDocumentParser.parse(bytes, name: "doc.jsonld")
            return nil
        } catch {
            return error.reason
        }
    }

    /// A large document is validated in slices on every core (`sliceSize` events each):
    /// the events come back in document order with the hash IDs each event has alone, and
    /// the error reported is the first in document order even when a later slice fails too.
    @Test func largeDocumentsGiveTheSameAnswerAsOneEventAtATime() throws {
        let count = EPCISDocumentParser.sliceSize * 3 + 17
        let events = (0..<count).map { Self.good.replacingOccurrences(of: "/21/ABC", with: "/21/S\($0)") }
        let document = try EPCISDocumentParser.parse(Self.document(events), name: "big")
        #expect(document.events.count == count)
        for index in [0, 1, EPCISDocumentParser.sliceSize - 1, EPCISDocumentParser.sliceSize, count - 1] {
            let alone = try EPCISDocumentParser.parse(Self.document([events[index]]), name: "one").events[0]
            #expect(document.events[index].hashID == alone.hashID, "event \(index)")
            #expect(document.events[index].uims == alone.uims, "event \(index)")
        }
        // Errors in the second and fourth slices: the second's is reported.
        var broken = events
        let first = EPCISDocumentParser.sliceSize + 5, later = EPCISDocumentParser.sliceSize * 3 + 2
        broken[first] = broken[first].replacingOccurrences(of: #""action":"ADD","#, with: "")
        broken[later] = broken[later].replacingOccurrences(of: "2024-01-01T10:00:00.000+05:00", with: "yesterday")
        #expect(reason(Self.document(broken)) == "doc.jsonld: event \(first): field 'action': is required in an ObjectEvent")
        broken[first] = events[first]
        #expect(reason(Self.document(broken))?.hasPrefix("doc.jsonld: event \(later): field 'eventTime'") == true)
    }

    /// `begin` hands out the same events as `parse`, slice by slice in document order,
    /// any number of times; a slice's error is the first of that slice, and a reader in
    /// order meets the document's first error.
    @Test func beginHandsOutTheSameEventsSliceBySlice() throws {
        let size = EPCISDocumentParser.sliceSize
        let count = size * 4 + 3
        let events = (0..<count).map { Self.good.replacingOccurrences(of: "/21/ABC", with: "/21/S\($0)") }
        let whole = try EPCISDocumentParser.parse(Self.document(events), name: "big")
        let started = try EPCISDocumentParser.begin(Self.document(events), name: "big")
        #expect(started.kind == "EPCISDocument" && started.eventCount == count && started.sliceCount == 5)
        #expect(started.context != nil)
        var streamed: [EPCISEvent] = []
        for k in 0..<started.sliceCount {
            let slice = try started.events(inSlice: k)
            #expect(slice.count == (k < 4 ? size : 3))
            streamed += slice
        }
        #expect(streamed.map(\.hashID) == whole.events.map(\.hashID))
        #expect(try started.events(inSlice: 2).map(\.hashID) == Array(whole.events[(2 * size)..<(3 * size)]).map(\.hashID))

        var broken = events
        broken[size * 2 + 9] = broken[size * 2 + 9].replacingOccurrences(of: #""action":"ADD","#, with: "")
        let failing = try EPCISDocumentParser.begin(Self.document(broken), name: "doc.jsonld")
        #expect(try failing.events(inSlice: 0).count == size)
        #expect(try failing.events(inSlice: 1).count == size)
        #expect(throws: ModelError.self) { try failing.events(inSlice: 2) }
        do {
            _ = try failing.document()
            Issue.record("an invalid document was accepted")
        } catch {
            #expect(error.reason == "doc.jsonld: event \(size * 2 + 9): field 'action': is required in an ObjectEvent")
        }

        // No events: no slices. Errors in the JSON or the event list come from begin itself.
        #expect(try EPCISDocumentParser.begin(Self.document([]), name: "empty").sliceCount == 0)
        #expect(throws: ModelError.self) { try EPCISDocumentParser.begin(Array("{".utf8), name: "bad") }
        #expect(throws: ModelError.self) { try EPCISDocumentParser.begin(Self.document(["1"]), name: "bad") }
    }

    /// A reader never waits for work nobody has started: with no pool thread validating
    /// (a request handler on a server whose pool is busy), reading the slices and the
    /// sorted references validates them on the reader's own thread, with the same result.
    @Test func readersValidateWhatNoWorkerHasClaimed() throws {
        let size = EPCISDocumentParser.sliceSize
        let events = (0..<(size * 3 + 1)).map { Self.good.replacingOccurrences(of: "/21/ABC", with: "/21/R\($0)") }
        let whole = try EPCISDocumentParser.parse(Self.document(events), name: "doc")
        let alone = try EPCISDocumentParser.start(Self.document(events), name: "doc", validation: .readersOnly)
        #expect(try alone.events(inSlice: 2).map(\.hashID) == whole.events[(2 * size)..<(3 * size)].map(\.hashID))
        #expect(try alone.document().events.map(\.hashID) == whole.events.map(\.hashID))
        let sortedFirst = try EPCISDocumentParser.start(Self.document(events), name: "doc", validation: .readersOnly)
        let references = try #require(sortedFirst.sortedReferences())
        #expect(references.keys.count == whole.events.reduce(0) { $0 + $1.uims.count })
        #expect(try sortedFirst.document().events.count == events.count)

        // Many documents read at once from pool threads, each by its own reader.
        let results = ResultBox(count: 32)
        DispatchQueue.concurrentPerform(iterations: 32) { i in
            let document = try? EPCISDocumentParser.begin(Self.document(events), name: "doc \(i)")
            let count = (try? document?.document().events.count) ?? nil
            results.set(i, count == events.count && document?.sortedReferences() != nil)
        }
        #expect(results.all)
    }

    @Test func parsesIndexedFieldsAndKeepsExtensionsVerbatim() throws {
        let bytes = Self.document([Self.good])
        let document = try EPCISDocumentParser.parse(bytes, name: "doc")
        let event = try #require(document.events.first)
        #expect(event.type == .object)
        #expect(event.bizStep == "https://ref.gs1.org/cbv/BizStep-commissioning")
        #expect(event.eventTime.canonicalUTC == "2024-01-01T05:00:00.000Z")
        #expect(event.uims == [UIMReference(uim: "https://id.gs1.org/01/04870001000011/21/ABC", role: .epc)])
        #expect(String(decoding: event.raw, as: UTF8.self) == Self.good)
        #expect(try EPCISDocumentParser.prehashes(bytes, name: "doc")[0].contains("{https://ns.fedtrace.org/tobacco/1/}intendedMarket=UA"))
    }

    @Test(arguments: [
        (#"{"type":"ObjectEvent","eventTimeZoneOffset":"+05:00","action":"ADD"}"#, "event 1: field 'eventTime': is required"),
        (#"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00+05:00","action":"ADD"}"#, "event 1: field 'eventTimeZoneOffset': is required"),
        (#"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00+05:00","eventTimeZoneOffset":"+05:00"}"#, "event 1: field 'action': is required"),
        (#"{"type":"ObjectEvent","eventTime":"2024-13-01T10:00:00+05:00","eventTimeZoneOffset":"+05:00","action":"ADD"}"#, "field 'eventTime': '2024-13-01T10:00:00+05:00' is not a valid timestamp"),
        (#"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00","eventTimeZoneOffset":"+05:00","action":"ADD"}"#, "is not a valid timestamp with a time zone"),
        (#"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD","epcList":"x"}"#, "field 'epcList': must be an array, found a string"),
        (#"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD","epcList":[1]}"#, "field 'epcList[0]': must be a non-empty string, found a number"),
        (#"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"MOVE"}"#, "'MOVE' must be ADD, OBSERVE or DELETE"),
        (#"{"type":"TransformationEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD"}"#, "field 'action': is not allowed in a TransformationEvent"),
        (#"{"type":"AggregationEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD","childEPCs":["a"]}"#, "field 'parentID': is required"),
        (#"{"type":"TransactionEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD"}"#, "field 'bizTransactionList'"),
        (#"{"type":"ShippingEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD"}"#, "'ShippingEvent' is not an EPCIS 2.0 event type"),
        (#"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"5","action":"ADD"}"#, "field 'eventTimeZoneOffset'"),
        (#"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD","readPoint":"x"}"#, "field 'readPoint': must be an object"),
        (#"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD","quantityList":[{"epcClass":"c","quantity":"5"}]}"#, "field 'quantityList[0].quantity': must be a number"),
        (#"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD","sourceList":[{"source":"x"}]}"#, "field 'sourceList[0].type': is required"),
        (#"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+05:00","action":"ADD","errorDeclaration":{}}"#, "field 'errorDeclaration.declarationTime': is required"),
        (#""just a string""#, "event 1: must be a JSON object, found a string"),
    ])
    func validationErrorNamesDocumentEventAndField(event: String, expected: String) {
        let message = reason(Self.document([Self.good, event]))
        #expect(message?.hasPrefix("doc.jsonld: ") == true, "\(message ?? "accepted")")
        #expect(message?.contains(expected) == true, "\(message ?? "accepted")")
    }

    @Test func documentLevelErrors() {
        #expect(reason(Array("[1]".utf8))?.contains("top level must be a JSON object") == true)
        #expect(reason(Array(#"{"type":"EPCISDocument"}"#.utf8))?.contains("epcisBody") == true)
        #expect(reason(Array(#"{"type":"EPCISDocument","epcisBody":{"eventList":{}}}"#.utf8))?.contains("must be an array") == true)
        #expect(reason(Array(#"{"type":"Other","epcisBody":{}}"#.utf8))?.contains("unsupported document type 'Other'") == true)
        #expect(reason(Array("{\"type\":\"EPCISDocument\",\n\"epcisBody\":{".utf8))?.hasPrefix("doc.jsonld: line 2") == true)
        #expect(reason([0x5B, 0x22, 0xFF, 0x22, 0x5D])?.contains("invalid UTF-8 byte 0xFF") == true)
    }

    @Test func queryDocumentsAndSingleEvents() throws {
        let query = #"{"type":"EPCISQueryDocument","epcisBody":{"queryResults":{"queryName":"SimpleEventQuery","resultsBody":{"eventList":[\#(Self.good)]}}}}"#
        #expect(try EPCISDocumentParser.parse(Array(query.utf8), name: "q").events.count == 1)
        let single = try EPCISDocumentParser.parse(Array(Self.good.utf8), name: "e")
        #expect(single.kind == "event")
        #expect(single.events.count == 1)
    }

    /// Each (UIM, role) once, whether an event names a few identifiers or many; UIMs that
    /// Swift calls equal but whose bytes differ stay apart, as they are in the index.
    @Test func uimReferencesAreDistinctByBytes() throws {
        func references(_ epcs: [String], children: [String] = []) throws -> [UIMReference] {
            let list = epcs.map { "\"\($0)\"" }.joined(separator: ",")
            let childList = children.map { "\"\($0)\"" }.joined(separator: ",")
            let event = #"{"type":"AggregationEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD","parentID":"urn:x:p","childEPCs":["# + childList + "]}"
            let object = #"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","epcList":["# + list + "]}"
            return try EPCISDocumentParser.parse(Self.document([children.isEmpty ? object : event]), name: "d").events[0].uims
        }
        let few = try references(["urn:x:a", "urn:x:b", "urn:x:a", "urn:x:\u{e9}", "urn:x:e\u{301}"])
        #expect(few.map(\.uim) == ["urn:x:a", "urn:x:b", "urn:x:\u{e9}", "urn:x:e\u{301}"])
        let many = (0..<100).map { "urn:x:\($0 % 60)" }
        #expect(try references(many).map(\.uim) == (0..<60).map { "urn:x:\($0)" })
        // Past UIMCollector.scanned references a set takes over; references seen before the
        // switch are still found once, and the order is still the order first named.
        let distinct = 3 * UIMCollector.scanned
        let more = (0..<(2 * distinct)).map { "urn:x:\(($0 * 7) % distinct)" } + ["urn:x:\u{e9}", "urn:x:e\u{301}", "urn:x:0"]
        let expected = (0..<distinct).map { "urn:x:\(($0 * 7) % distinct)" } + ["urn:x:\u{e9}", "urn:x:e\u{301}"]
        #expect(try references(more).map(\.uim) == expected)
        let children = try references([], children: ["urn:x:p"] + (0..<distinct).map { "urn:x:c\($0 % 100)" } + ["urn:x:p"])
        #expect(children.count == 102 && children.filter { $0.uim == "urn:x:p" }.map(\.role) == [.parent, .child])
        let roles = try references([], children: ["urn:x:p", "urn:x:c", "urn:x:c"])
        #expect(roles.map { "\($0.role.rawValue) \($0.uim)" } == ["parent urn:x:p", "child urn:x:p", "child urn:x:c"])
    }

    /// Each member validation reads is found at its case's index by its case's name.
    @Test func eventMembersAreTheirKeysAtTheirIndices() throws {
        typealias Member = EPCISDocumentParser.EventMember
        #expect(Member.names.count == Member.allCases.count)
        for member in Member.allCases {
            #expect(Member.names.index(member.key) == member.rawValue, "\(member)")
        }
        #expect(Member.keys.count == Member.allCases.count)
        for member in Member.allCases { #expect(member.key == String(describing: member)) }
        #expect(VocabularyCollector.Member.keys == VocabularyCollector.Member.allCases.map { String(describing: $0) })
        // A wrong type is reported under the member's key, as before.
        let bad = #"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","readPoint":"x"}"#
        #expect(throws: ModelError.self) { try EPCISDocumentParser.parse(Array(bad.utf8), name: "d") }
        do {
            _ = try EPCISDocumentParser.parse(Array(bad.utf8), name: "d")
        } catch {
            #expect(error.reason == "d: event 0: field 'readPoint': must be an object with an 'id', found a string")
        }
    }

    @Test func uimIndexCoversEveryRole() throws {
        let aggregation = #"{"type":"AggregationEvent","eventTime":"2024-01-01T10:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD","parentID":"urn:epc:id:sscc:0614141.1234567890","childEPCs":["urn:epc:id:sgtin:0614141.107346.2017"],"childQuantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":10}]}"#
        let event = try EPCISDocumentParser.parse(Array(aggregation.utf8), name: "a").events[0]
        #expect(Set(event.uims.map(\.role)) == [.parent, .child, .quantityClass])
        #expect(event.parentID == "https://id.gs1.org/00/106141412345678908")
        #expect(event.children == ["https://id.gs1.org/01/10614141073464/21/2017"])
    }
}

/// One flag per iteration of a concurrent loop, each written by its own iteration.
final class ResultBox: @unchecked Sendable {
    private var flags: [Bool]
    private let lock = NSLock()
    init(count: Int) { flags = Array(repeating: false, count: count) }
    func set(_ index: Int, _ value: Bool) { lock.lock(); flags[index] = value; lock.unlock() }
    var all: Bool { lock.lock(); defer { lock.unlock() }; return !flags.contains(false) }
}

