import Foundation
import Testing
import Generator
@testable import Model

/// The byte-oriented `PrehashBuilder` against the tree-of-strings builder it replaced
/// (`ReferencePrehashBuilder`, itself checked against GS1's reference generator): the same
/// pre-hash string, byte for byte, on the GS1 examples, the reference's vectors, and
/// random events made to reach every branch of the algorithm.
@Suite struct PrehashBuilderTests {
    /// Every event of `document`, through one builder of each kind (as capture uses them:
    /// one per document, so the symbol table and memos carry across events).
    func compare(_ objects: [JSONObject], context: JSONValue?, label: String) -> Int {
        let hashContext = HashContext(documentContext: context, events: objects)
        let builder = PrehashBuilder(context: hashContext)
        let reference = ReferencePrehashBuilder(context: hashContext)
        var mismatches = 0
        for (index, object) in objects.enumerated() {
            let expected = reference.prehash(of: object)
            let tape = try! JSONTape.of(object)
            let (prehash, hashID) = builder.prehashAndID(of: tape.root, in: tape)
            if prehash != expected || hashID != EventHash.hashID(prehash: expected) {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record("\(label) event \(index):\n  expected \(expected)\n  got      \(prehash)\n  event \(String(decoding: JSONWriter.serialize(.object(object)), as: UTF8.self))")
                }
            }
        }
        return mismatches
    }

    func events(of url: URL) throws -> (objects: [JSONObject], context: JSONValue?) {
        let tape = try JSONTape.parse(try TestData.bytes(url), limits: EPCISDocumentParser.limits)
        let (_, events) = try EPCISDocumentParser.eventList(of: tape, name: url.lastPathComponent)
        return (events.filter { tape.kind($0) == .object }.map(tape.object), tape.member(tape.root, "@context").map(tape.value))
    }

    @Test func sameAsTheReferenceOnEveryGS1Example() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: TestData.gs1Examples.path).filter { $0.hasSuffix(".jsonld") }.sorted()
        #expect(files.count >= 19)
        var total = 0
        for file in files {
            let (objects, context) = try events(of: TestData.gs1Examples.appendingPathComponent(file))
            total += objects.count
            #expect(compare(objects, context: context, label: file) == 0, "\(file)")
        }
        #expect(total >= 20)
    }

    @Test func sameAsTheReferenceOnTheVectorDocuments() throws {
        let folder = TestData.vectors.appendingPathComponent("hash-documents")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        var total = 0
        for file in files {
            let (objects, context) = try events(of: folder.appendingPathComponent(file))
            total += objects.count
            #expect(compare(objects, context: context, label: file) == 0, "\(file)")
        }
        #expect(total >= 500)
    }

    /// Random events over the names and values the algorithm treats specially: every
    /// standard field and sub-field, `…List` names, typed lists (with odd elements), the
    /// names that are renamed, extensions with and without a declared prefix, time-like
    /// and offset-like names, `#text`/`type` members, skipped keys, nested arrays,
    /// numbers, booleans, null, white space, URNs, Digital Links and bare CBV words.
    @Test func sameAsTheReferenceOnRandomEvents() throws {
        var random = SplitMix64(seed: 0x5EED_2026_1124)
        var mismatches = 0
        var total = 0
        for document in 0..<40 {
            let objects = (0..<60).map { _ in RandomEvent.make(&random) }
            total += objects.count
            let context: JSONValue = [
                "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                .object(["ex": "https://example.org/ns/", "tt": "https://ns.fedtrace.org/tobacco/1/", "term": .object(["@id": "https://example.org/term"])]),
            ]
            mismatches += compare(objects, context: document % 5 == 4 ? nil : context, label: "random document \(document)")
        }
        #expect(total == 2400)
        #expect(mismatches == 0)
    }

    @Test func builderIsReusableAcrossEventsAndKeepsNoStateBetweenThem() throws {
        let (objects, context) = try events(of: TestData.gs1Examples.appendingPathComponent("Example_9.6.1-ObjectEvent.jsonld"))
        let builder = PrehashBuilder(context: HashContext(documentContext: context, events: objects))
        let first = objects.map { builder.prehash(of: $0) }
        let again = objects.reversed().map { builder.prehash(of: $0) }.reversed()
        #expect(first == Array(again))
    }
}

/// Draws for the random events (a seeded `SplitMix64`, so a failing case can be reproduced).
extension SplitMix64 {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

enum RandomEvent {
    static let eventTypes = ["ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"]
    static let names = [
        "eventTime", "eventTimeZoneOffset", "recordTime", "eventID", "action", "bizStep", "disposition",
        "readPoint", "bizLocation", "epcList", "childEPCs", "inputEPCList", "outputEPCList", "parentID",
        "quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList", "transformationID",
        "certificationInfo", "persistentDisposition", "set", "unset", "id", "epcClass", "quantity", "uom",
        "bizTransactionList", "sourceList", "destinationList", "bizTransaction", "source", "destination",
        "sensorElementList", "sensorElement", "sensorMetadata", "sensorReport", "time", "startTime", "endTime",
        "deviceID", "value", "minValue", "component", "ilmd", "errorDeclaration", "reason", "declarationTime",
        "inputEPC", "outputEPC", "inputQuantity", "outputQuantity", "childQuantity", "epc", "quantityElement",
        "ex:foo", "ex:time", "ex:Offset", "ex:TimeOffset", "ex:List", "ex:thingList", "tt:intendedMarket",
        "undeclared:thing", "exampleList", "List", "eventTimeNote", "actionable", "{https://x.org/}a",
        "#text", "type", "comment", "rdfs:comment", "@context", "Ünïcödé", "sensorReportList",
    ]
    static let strings = [
        "2025-03-03T01:00:01.665Z", " 2025-03-03T06:00:01+05:00 ", "2025-03-03T06:00:01.1234567-03:30", "+05:00",
        "ADD", "OBSERVE", "DELETE", "shipping", "active", "receiving", "in_transit", "po", "inv", "owning_party",
        "urn:epcglobal:cbv:bizstep:receiving", "urn:epcglobal:cbv:disp:in_progress", "urn:epcglobal:cbv:btt:po",
        "urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:class:lgtin:4012345.012345.998877",
        "urn:epc:id:sscc:4012345.0000000333", "urn:epc:id:sgln:4012345.00001.0",
        "https://id.gs1.org/01/04870001000042/21/KKL9RJCY8R", "https://id.gs1.org/414/4870001000011",
        "https://id.gs1.org/00/048700010000000016", "cbv:BizStep-shipping", "gs1:Temperature", "ex:thing",
        "tt:value", "https://ref.gs1.org/cbv/BTT-po", "https://ref.gs1.org/cbv/Disp-active",
        "12", "12.50", " 3.0 ", "1e3", "1_000", "-0", "0.000001", "", "   ", "\t", "abc", "Ünïcödé", "KGM", "CEL",
        "true", "None", "a=b", "x}y{z",
    ]
    static let numbers = ["1", "2.5", "-0", "1e21", "0.1", "100", "-7.25e-3", "0"]

    static func make(_ random: inout SplitMix64) -> JSONObject {
        var members: [JSONObject.Member] = [.init(key: "type", value: .string(random.pick(eventTypes)))]
        if random.chance(90) { members.append(.init(key: "eventTime", value: .string(random.pick(Array(strings[0..<3]))))) }
        if random.chance(80) { members.append(.init(key: "eventTimeZoneOffset", value: "+05:00")) }
        for _ in 0..<(2 + random.below(9)) {
            let key = random.pick(names)
            if members.contains(where: { $0.key == key }) { continue }
            members.append(.init(key: key, value: value(for: key, &random, depth: 0)))
        }
        // Shuffle the member order: the pre-hash must not depend on it, and both builders sort.
        for i in stride(from: members.count - 1, to: 0, by: -1) { members.swapAt(i, random.below(i + 1)) }
        return JSONObject(members)
    }

    static func value(for key: String, _ random: inout SplitMix64, depth: Int) -> JSONValue {
        if key.hasSuffix("List") || key == "childEPCs", random.chance(85) {
            let count = random.below(4)
            return .array((0..<count).map { _ in element(for: key, &random, depth: depth + 1) })
        }
        return leafOrObject(&random, depth: depth)
    }

    static func element(for key: String, _ random: inout SplitMix64, depth: Int) -> JSONValue {
        switch key {
        case "bizTransactionList", "sourceList", "destinationList":
            let member = key == "bizTransactionList" ? "bizTransaction" : (key == "sourceList" ? "source" : "destination")
            var members: [JSONObject.Member] = []
            if random.chance(85) { members.append(.init(key: "type", value: .string(random.pick(strings)))) }
            if random.chance(85) { members.append(.init(key: member, value: .string(random.pick(strings)))) }
            if random.chance(15) { members.append(.init(key: "ex:extra", value: leafOrObject(&random, depth: depth + 1))) }
            if random.chance(10) { members.reverse() }
            return random.chance(95) ? .object(JSONObject(members)) : .string(random.pick(strings))
        case "quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList":
            var members: [JSONObject.Member] = [.init(key: "epcClass", value: .string(random.pick(strings)))]
            if random.chance(80) { members.append(.init(key: "quantity", value: .number(random.pick(numbers)))) }
            if random.chance(50) { members.append(.init(key: "uom", value: .string(random.pick(strings)))) }
            return .object(JSONObject(members))
        default:
            return leafOrObject(&random, depth: depth)
        }
    }

    static func leafOrObject(_ random: inout SplitMix64, depth: Int) -> JSONValue {
        switch random.below(depth >= 3 ? 6 : 9) {
        case 0, 1, 2: return .string(random.pick(strings))
        case 3: return .number(random.pick(numbers))
        case 4: return random.chance(50) ? .bool(random.chance(50)) : .null
        case 5: return .string(random.pick(Array(strings[14..<24])))
        case 6: return .array((0..<random.below(3)).map { _ in leafOrObject(&random, depth: depth + 1) })
        default:
            var members: [JSONObject.Member] = []
            for _ in 0..<(1 + random.below(4)) {
                let key = random.pick(names)
                if members.contains(where: { $0.key == key }) { continue }
                members.append(.init(key: key, value: value(for: key, &random, depth: depth + 1)))
            }
            return .object(JSONObject(members))
        }
    }
}
