import Foundation
import Model
@testable import Store

/// A fresh temporary directory per test, removed when the value is released.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fedtrace-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

enum Fixtures {
    static let kazakhstan = try! PartyID(country: "KZ")

    static func document(_ events: [String], context: String = #"["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]"#) -> EPCISDocument {
        let text = #"{"@context":\#(context),"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[\#(events.joined(separator: ","))]}}"#
        return try! EPCISDocumentParser.parse(Array(text.utf8), name: "fixture")
    }

    static func object(_ epcs: [String], step: String = "commissioning", time: String = "2024-01-01T10:00:00Z", action: String = "ADD") -> String {
        #"{"type":"ObjectEvent","eventTime":"\#(time)","eventTimeZoneOffset":"+05:00","action":"\#(action)","bizStep":"\#(step)","epcList":[\#(epcs.map { "\"\($0)\"" }.joined(separator: ","))]}"#
    }

    static func aggregation(parent: String, children: [String], time: String, action: String = "ADD") -> String {
        #"{"type":"AggregationEvent","eventTime":"\#(time)","eventTimeZoneOffset":"+05:00","action":"\#(action)","bizStep":"packing","parentID":"\#(parent)","childEPCs":[\#(children.map { "\"\($0)\"" }.joined(separator: ","))]}"#
    }
}
