import Foundation
import Testing
@testable import Model

/// CBV 2.0 event hash IDs against GS1 Germany's reference implementation
/// (PyPI epcis-event-hash-generator 1.9.3).
@Suite struct EventHashTests {
    @Test func everyGS1ExampleRowMatchesTheReference() throws {
        let rows = try TestData.tsv(TestData.gs1Examples.appendingPathComponent("expected-event-hash-ids.tsv"))
        #expect(rows.count >= 20)
        var documents: [String: EPCISDocument] = [:]
        var prehashes: [String: [String]] = [:]
        for row in rows {
            let (file, index, expectedID, expectedPrehash) = (row[0], Int(row[1])!, row[2], row[3])
            if documents[file] == nil {
                let bytes = try TestData.bytes(TestData.gs1Examples.appendingPathComponent(file))
                documents[file] = try EPCISDocumentParser.parse(bytes, name: file)
                prehashes[file] = try EPCISDocumentParser.prehashes(bytes, name: file)
            }
            let event = try #require(documents[file]?.events[safe: index], "\(file) has no event \(index)")
            #expect(prehashes[file]?.count == documents[file]?.events.count)
            if expectedPrehash != "---" {
                #expect(prehashes[file]?[safe: index] == expectedPrehash, "\(file) event \(index) pre-hash")
            }
            #expect(event.hashID == expectedID, "\(file) event \(index)")
        }
    }

    @Test func everyGS1ExampleCaptures() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: TestData.gs1Examples.path).filter { $0.hasSuffix(".jsonld") }
        #expect(files.count >= 19)
        for file in files {
            let document = try EPCISDocumentParser.parse(try TestData.bytes(TestData.gs1Examples.appendingPathComponent(file)), name: file)
            #expect(!document.events.isEmpty, "\(file)")
        }
    }

    /// Documents generated with many shapes (extensions, nested objects, numbers, booleans,
    /// sensor data, EPC URNs and Digital Links, shuffled member order), hashed by the
    /// reference generator; see Vectors/make_hash_vectors.py.
    @Test func generatedCorpusMatchesTheReference() throws {
        let rows = try TestData.tsv(TestData.vectors.appendingPathComponent("hash-vectors.tsv"))
        #expect(rows.count >= 500)
        var documents: [String: EPCISDocument] = [:]
        var mismatches = 0
        for row in rows {
            let (file, index, expectedID) = (row[0], Int(row[1])!, row[2])
            if documents[file] == nil {
                documents[file] = try EPCISDocumentParser.parse(try TestData.bytes(TestData.vectors.appendingPathComponent("hash-documents/" + file)), name: file)
            }
            let event = try #require(documents[file]?.events[safe: index])
            if event.hashID != expectedID {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(file) event \(index): expected \(expectedID), got \(event.hashID)") }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func errorDeclarationHasTheIDOfTheEventItDeclares() throws {
        let original = try EPCISDocumentParser.parse(try TestData.bytes(TestData.gs1Examples.appendingPathComponent("Example_9.6.1-ObjectEvent.jsonld")), name: "a")
        let declared = try EPCISDocumentParser.parse(try TestData.bytes(TestData.gs1Examples.appendingPathComponent("WithErrorDeclaration_Example_9.6.1-ObjectEvent-with-error-declaration.jsonld")), name: "b")
        #expect(original.events[0].hashID == declared.events[0].hashID)
        #expect(!original.events[0].declaresError)
        #expect(declared.events[0].declaresError)
    }

    @Test func memberOrderAndIdentifierSyntaxDoNotChangeTheID() throws {
        let a = #"{"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00+05:00","eventTimeZoneOffset":"+05:00","action":"ADD","bizStep":"commissioning","epcList":["urn:epc:id:sgtin:0614141.107346.2017"]}"#
        let b = #"{"epcList":["https://id.gs1.org/01/10614141073464/21/2017"],"bizStep":"https://ref.gs1.org/cbv/BizStep-commissioning","action":"ADD","eventTimeZoneOffset":"+05:00","eventTime":"2024-01-01T05:00:00.000Z","type":"ObjectEvent"}"#
        let idA = try EPCISDocumentParser.parse(Array(a.utf8), name: "a").events[0].hashID
        let idB = try EPCISDocumentParser.parse(Array(b.utf8), name: "b").events[0].hashID
        #expect(idA == idB)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
