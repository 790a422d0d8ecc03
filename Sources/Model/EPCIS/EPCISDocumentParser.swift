import Dispatch

/// A parsed EPCIS 2.0 document: its kind, `@context`, and validated events.
public struct EPCISDocument: Sendable {
    /// `EPCISDocument`, `EPCISQueryDocument`, or `event` for a bare event object.
    public let kind: String
    /// The document's `@context` (needed to read extension prefixes in `raw` events).
    public let context: JSONValue?
    public let events: [EPCISEvent]
}

/// Parses and validates EPCIS 2.0 JSON / JSON-LD documents.
///
/// Accepts an `EPCISDocument` (`epcisBody.eventList` or `epcisBody.event`), an
/// `EPCISQueryDocument` (`epcisBody.queryResults.resultsBody.eventList`) or a single event
/// object. Validation follows the EPCIS 2.0 JSON schema for the fields FedTrace relies on:
/// the type, `eventTime` and `eventTimeZoneOffset` of every event, `action` where the type
/// requires it, and the JSON type of every standard field. The first problem found is
/// reported with the document name, the event index and the field.
public enum EPCISDocumentParser {
    /// JSON limits for EPCIS input: 64 levels deep at most; a repeated key keeps its last
    /// value (as GS1's tools read it: one GS1 example repeats `eventID`).
    public static let limits: JSONParser.Limits = {
        var limits = JSONParser.Limits()
        limits.duplicateKeys = .lastWins
        return limits
    }()

    /// Parses `bytes`; `name` (a file name or "request body") prefixes every error.
    ///
    /// The document is read as a `JSONTape`: validation and the pre-hash read each event in
    /// place, and an event's `body` is parsed from its raw bytes only if someone asks.
    public static func parse(_ bytes: [UInt8], name: String, limits: JSONParser.Limits = Self.limits) throws(ModelError) -> EPCISDocument {
        try start(bytes, name: name, limits: limits, validation: .inline).document()
    }

    /// Reads the JSON and the event list of `bytes` on this thread (throwing their errors),
    /// then returns while the events are validated and hashed on every core: the store can
    /// take the first slices while later ones are still being checked (`EventSlices`).
    public static func begin(_ bytes: [UInt8], name: String, limits: JSONParser.Limits = Self.limits) throws(ModelError) -> ValidatingDocument {
        try start(bytes, name: name, limits: limits, validation: .background)
    }

    /// The CBV 2.0 pre-hash string of every event of a document, in order: what each hash ID
    /// was computed from, for explaining one (capture computes the IDs without them). The
    /// events are not validated here.
    public static func prehashes(_ bytes: [UInt8], name: String, limits: JSONParser.Limits = Self.limits) throws(ModelError) -> [String] {
        let (tape, _, events, _, hashContext) = try read(bytes, name: name, limits: limits)
        let builder = PrehashBuilder(context: hashContext)
        return events.map { builder.prehashAndID(of: $0, in: tape).prehash }
    }

    static func start(_ bytes: [UInt8], name: String, limits: JSONParser.Limits = Self.limits, validation: ValidatingDocument.Validation) throws(ModelError) -> ValidatingDocument {
        let (tape, kind, events, context, hashContext) = try read(bytes, name: name, limits: limits)
        return ValidatingDocument(kind: kind, context: context, objects: events, tape: tape, hashContext: hashContext, name: name,
                                  validation: validation)
    }

    /// The document's tape, kind, event objects (each checked to be an object), `@context`
    /// and hash context.
    private static func read(_ bytes: [UInt8], name: String, limits: JSONParser.Limits)
        throws(ModelError) -> (JSONTape, String, [Int], JSONValue?, HashContext) {
        let tape: JSONTape
        do {
            tape = try JSONTape.parse(bytes, limits: limits)
        } catch {
            throw ModelError(code: "epcis.json", reason: "\(name): \(error.description)")
        }
        guard tape.kind(tape.root) == .object else {
            throw ModelError(code: "epcis.document", reason: "\(name): the top level must be a JSON object, found \(tape.typeDescription(tape.root))")
        }
        let (kind, events) = try eventList(of: tape, name: name)
        for (index, event) in events.enumerated() where tape.kind(event) != .object {
            throw ModelError(code: "epcis.event", reason: "\(name): event \(index): must be a JSON object, found \(tape.typeDescription(event))")
        }
        let context = tape.member(tape.root, "@context").map(tape.value)
        return (tape, kind, events, context, HashContext(documentContext: context, tape: tape, events: events))
    }

    /// Events per slice when a document's events are validated and hashed on several cores
    /// (`ValidatingDocument`). Each event's hash depends only on the event and the
    /// document's `HashContext`, so slices are independent; the result, and the error
    /// reported (the first in document order), are the same as one pass in order would give.
    public static let sliceSize = 256

    static func eventList(of tape: JSONTape, name: String) throws(ModelError) -> (String, [Int]) {
        let document = tape.root
        let type = tape.member(document, "type").flatMap(tape.stringValue)
        if let type, EPCISEventType(rawValue: type) != nil {
            return ("event", [document])
        }
        func list(_ value: Int?, _ path: String) throws(ModelError) -> [Int] {
            guard let value else { throw ModelError(code: "epcis.document", reason: "\(name): missing '\(path)'") }
            guard tape.kind(value) == .array else {
                throw ModelError(code: "epcis.document", reason: "\(name): '\(path)' must be an array, found \(tape.typeDescription(value))")
            }
            var elements: [Int] = []
            elements.reserveCapacity(tape.count(value))
            tape.forEachElement(value) { elements.append($0) }
            return elements
        }
        func object(_ value: Int?) -> Int? {
            guard let value, tape.kind(value) == .object else { return nil }
            return value
        }
        guard let body = object(tape.member(document, "epcisBody")) else {
            if type == nil { throw ModelError(code: "epcis.document", reason: "\(name): not an EPCIS document: no 'type' and no 'epcisBody'") }
            if type == "EPCISDocument" || type == "EPCISQueryDocument" {
                let found = tape.member(document, "epcisBody").map { "found \(tape.typeDescription($0))" } ?? "it is missing"
                throw ModelError(code: "epcis.document", reason: "\(name): an \(type!) needs an 'epcisBody' object; \(found)")
            }
            throw ModelError(code: "epcis.document", reason: "\(name): '\(type!)' is not an EPCIS document or event type (EPCISDocument, EPCISQueryDocument, or one of the five event types)")
        }
        switch type {
        case "EPCISDocument":
            if let single = tape.member(body, "event"), tape.member(body, "eventList") == nil { return ("EPCISDocument", [single]) }
            return ("EPCISDocument", try list(tape.member(body, "eventList"), "epcisBody.eventList"))
        case "EPCISQueryDocument":
            guard let results = object(tape.member(body, "queryResults")) else {
                throw ModelError(code: "epcis.document", reason: "\(name): 'epcisBody.queryResults' must be an object")
            }
            guard let resultsBody = object(tape.member(results, "resultsBody")) else {
                throw ModelError(code: "epcis.document", reason: "\(name): 'epcisBody.queryResults.resultsBody' must be an object")
            }
            return ("EPCISQueryDocument", try list(tape.member(resultsBody, "eventList"), "epcisBody.queryResults.resultsBody.eventList"))
        case nil:
            throw ModelError(code: "epcis.document", reason: "\(name): missing 'type' (EPCISDocument or EPCISQueryDocument)")
        case let other?:
            throw ModelError(code: "epcis.document", reason: "\(name): unsupported document type '\(other)' (expected EPCISDocument or EPCISQueryDocument)")
        }
    }

    /// Validates one event received from another Party (a redacted copy inside a delta).
    ///
    /// The hash ID is the origin's, carried beside the event: a receiver cannot recompute it
    /// from a redacted copy. Validation is the same as for captured events; `bytes` holds the
    /// event's `sourceRange`, which becomes its stored raw bytes.
    public static func validateReceived(_ event: JSONObject, bytes: [UInt8], hashID: String, location: String) throws(ModelError) -> EPCISEvent {
        let tape: JSONTape
        do throws(JSONError) {
            if let range = event.sourceRange {
                tape = try JSONTape.parse(Array(bytes[range]), limits: limits)
            } else {
                tape = try JSONTape.of(event)
            }
        } catch {
            throw ModelError(code: "epcis.json", reason: "\(location): \(error.description)")
        }
        return try validate(tape.root, in: tape, builder: nil, location: location, hashID: hashID, body: event)
    }

    /// The members of an event object that `validate` reads (any other is kept verbatim and
    /// read only by the pre-hash), found in one pass over the event's members; a case's raw
    /// value is the member's index in `names`, and its key is the case's name (spelled out in
    /// `keys`, not read by reflection, which a build may strip; a test checks they agree).
    enum EventMember: Int, CaseIterable {
        case type, eventTime, eventTimeZoneOffset, recordTime, action, eventID, bizStep, disposition,
             readPoint, bizLocation, parentID, epcList, childEPCs, inputEPCList, outputEPCList,
             quantityList, childQuantityList, inputQuantityList, outputQuantityList,
             bizTransactionList, sourceList, destinationList, sensorElementList, ilmd, persistentDisposition,
             errorDeclaration

        static let keys = [
            "type", "eventTime", "eventTimeZoneOffset", "recordTime", "action", "eventID", "bizStep", "disposition",
            "readPoint", "bizLocation", "parentID", "epcList", "childEPCs", "inputEPCList", "outputEPCList",
            "quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList",
            "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "ilmd", "persistentDisposition",
            "errorDeclaration",
        ]

        /// The member's key, e.g. `eventTime`.
        var key: String { Self.keys[rawValue] }

        static let names = MemberNames(keys)
    }

    /// Validates event `event` of `tape` and (with a builder) computes its hash ID.
    static func validate(_ event: Int, in tape: JSONTape, builder: PrehashBuilder?, location: String, hashID givenHashID: String? = nil,
                         body: JSONObject? = nil) throws(ModelError) -> EPCISEvent {
        // The builder remembers normalised identifiers for its document (the pre-hash needs them again).
        let canonical: (String) -> String = builder.map { builder in { builder.canonicalUIM($0) } } ?? UIMReference.canonical
        func fail(_ field: String, _ reason: String) -> ModelError {
            ModelError(code: "epcis.invalid", reason: "\(location): field '\(field)': \(reason)")
        }
        // The event's own members, found in one pass (`EventMember`).
        var eventValues: [Int] = []
        tape.members(event, named: EventMember.names, into: &eventValues)
        func member(_ field: EventMember) -> Int? {
            eventValues[field.rawValue] < 0 ? nil : eventValues[field.rawValue]
        }
        func string(_ field: EventMember) throws(ModelError) -> String? {
            guard let value = member(field) else { return nil }
            guard tape.kind(value) == .string else { throw fail(field.key, "must be a string, found \(tape.typeDescription(value))") }
            return tape.string(value)
        }
        // A member of an object inside the event; `path` is only worked out for an error
        // (building it for every value was an allocation each).
        func string(_ key: StaticString, in object: Int, path: @autoclosure () -> String) throws(ModelError) -> String? {
            guard let value = tape.member(object, key) else { return nil }
            guard tape.kind(value) == .string else { throw fail(path(), "must be a string, found \(tape.typeDescription(value))") }
            return tape.string(value)
        }
        func array(_ field: EventMember) throws(ModelError) -> Int? {
            guard let value = member(field) else { return nil }
            guard tape.kind(value) == .array else { throw fail(field.key, "must be an array, found \(tape.typeDescription(value))") }
            return value
        }
        func object(_ field: EventMember, _ reason: String? = nil) throws(ModelError) -> Int? {
            guard let value = member(field) else { return nil }
            guard tape.kind(value) == .object else { throw fail(field.key, reason ?? "must be an object, found \(tape.typeDescription(value))") }
            return value
        }
        func forEachObject(_ field: EventMember, _ check: (Int, () -> String) throws(ModelError) -> Void) throws(ModelError) {
            guard let list = try array(field) else { return }
            var element = list + 1
            for i in 0..<tape.count(list) {
                guard tape.kind(element) == .object else { throw fail("\(field.key)[\(i)]", "must be an object, found \(tape.typeDescription(element))") }
                try check(element, { "\(field.key)[\(i)]" })
                element = tape.next(element)
            }
        }
        // Captured events (validated with a builder, to be hashed) must give their own times
        // as RFC 3339; events received from peers and stored raw bytes read again keep the
        // wider form earlier versions accepted, so nothing stored becomes unreadable.
        func timestamp(_ text: String, _ field: String) throws(ModelError) -> Timestamp {
            guard builder == nil || Timestamp.hasRFC3339Form(text), let t = Timestamp.parse(text) else {
                throw fail(field, "'\(text)' is not a valid timestamp with a time zone (e.g. 2024-05-01T10:00:00.000+05:00)")
            }
            return t
        }

        guard let typeText = try string(.type) else { throw fail("type", "is required") }
        guard let type = EPCISEventType(rawValue: typeText) else {
            throw fail("type", "'\(typeText)' is not an EPCIS 2.0 event type (ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent)")
        }
        guard let eventTimeText = try string(.eventTime) else { throw fail("eventTime", "is required") }
        let eventTime = try timestamp(eventTimeText, "eventTime")
        guard let offset = try string(.eventTimeZoneOffset) else { throw fail("eventTimeZoneOffset", "is required") }
        guard Timestamp.isValidZoneOffset(offset) else { throw fail("eventTimeZoneOffset", "'\(offset)' is not a zone offset of the form +HH:MM or -HH:MM") }
        let recordTime = try string(.recordTime).map { (t: String) throws(ModelError) -> Timestamp in try timestamp(t, "recordTime") }

        let action = try string(.action)
        if type == .transformation {
            if action != nil { throw fail("action", "is not allowed in a TransformationEvent") }
        } else {
            guard let action else { throw fail("action", "is required in \(typeText.first.map { "AEIOU".contains($0) } == true ? "an" : "a") \(typeText)") }
            guard action == "ADD" || action == "OBSERVE" || action == "DELETE" else {
                throw fail("action", "'\(action)' must be ADD, OBSERVE or DELETE")
            }
        }
        _ = try string(.eventID)
        let bizStep = try string(.bizStep).map { CBVVocabulary.expand($0, for: .bizStep) ?? CBVVocabulary.webVocabularyFromURN($0) }
        let disposition = try string(.disposition).map { CBVVocabulary.expand($0, for: .disposition) ?? CBVVocabulary.webVocabularyFromURN($0) }
        func identifierOf(_ field: EventMember) throws(ModelError) -> String? {
            guard let value = member(field) else { return nil }
            guard tape.kind(value) == .object else { throw fail(field.key, "must be an object with an 'id', found \(tape.typeDescription(value))") }
            guard let id = try string("id", in: value, path: field.key + ".id"), !id.isEmpty else { throw fail(field.key + ".id", "is required") }
            return canonical(id)
        }
        let readPoint = try identifierOf(.readPoint)
        let bizLocation = try identifierOf(.bizLocation)

        // Each (UIM, role) once (`UIMCollector`). The lists are walked here rather than
        // through closures: a variable a closure changes is checked for exclusive access
        // at run time on every access (that was 2% of capture).
        var references = UIMCollector()
        let parentID = try string(.parentID)
        if let parentID {
            guard !parentID.isEmpty else { throw fail("parentID", "must not be empty") }
            references.add(UIMReference(uim: canonical(parentID), role: .parent))
        }
        let epcLists: [(field: EventMember, role: UIMRole)] = [(.epcList, .epc), (.childEPCs, .child), (.inputEPCList, .input), (.outputEPCList, .output)]
        for (field, role) in epcLists {
            guard let list = try array(field) else { continue }
            var element = list + 1
            for i in 0..<tape.count(list) {
                guard tape.kind(element) == .string, tape.span(element).count > 0 else {
                    throw fail("\(field.key)[\(i)]", "must be a non-empty string, found \(tape.typeDescription(element))")
                }
                references.add(UIMReference(uim: canonical(tape.string(element)), role: role))
                element = tape.next(element)
            }
        }
        let quantityLists: [EventMember] = [.quantityList, .childQuantityList, .inputQuantityList, .outputQuantityList]
        for field in quantityLists {
            guard let list = try array(field) else { continue }
            var element = list + 1
            for i in 0..<tape.count(list) {
                func path() -> String { "\(field.key)[\(i)]" }
                guard tape.kind(element) == .object else { throw fail(path(), "must be an object, found \(tape.typeDescription(element))") }
                guard let epcClass = try string("epcClass", in: element, path: path() + ".epcClass"), !epcClass.isEmpty else {
                    throw fail(path() + ".epcClass", "is required")
                }
                if let quantity = tape.member(element, "quantity"), tape.kind(quantity) != .number {
                    throw fail(path() + ".quantity", "must be a number, found \(tape.typeDescription(quantity))")
                }
                _ = try string("uom", in: element, path: path() + ".uom")
                references.add(UIMReference(uim: canonical(epcClass), role: .quantityClass))
                element = tape.next(element)
            }
        }
        let partyLists: [(list: EventMember, value: StaticString, typeRequired: Bool)] = [
            (.bizTransactionList, "bizTransaction", false), (.sourceList, "source", true), (.destinationList, "destination", true),
        ]
        for (field, valueKey, typeRequired) in partyLists {
            try forEachObject(field) { (element, path) throws(ModelError) in
                guard let value = try string(valueKey, in: element, path: "\(path()).\(valueKey)"), !value.isEmpty else {
                    throw fail("\(path()).\(valueKey)", "is required")
                }
                let typeValue = try string("type", in: element, path: "\(path()).type")
                if typeRequired && typeValue == nil { throw fail("\(path()).type", "is required") }
            }
        }
        try forEachObject(.sensorElementList) { (element, path) throws(ModelError) in
            guard let reports = tape.member(element, "sensorReport") else { throw fail("\(path()).sensorReport", "is required") }
            guard tape.kind(reports) == .array else { throw fail("\(path()).sensorReport", "must be an array, found \(tape.typeDescription(reports))") }
            if let metadata = tape.member(element, "sensorMetadata") {
                guard tape.kind(metadata) == .object else { throw fail("\(path()).sensorMetadata", "must be an object") }
                let times: [StaticString] = ["time", "startTime", "endTime"]
                for key in times {
                    if let t = try string(key, in: metadata, path: "\(path()).sensorMetadata.\(key)") { _ = try timestamp(t, "\(path()).sensorMetadata.\(key)") }
                }
            }
        }
        _ = try object(.ilmd)
        if let persistent = try object(.persistentDisposition, "must be an object") {
            for key in ["set", "unset"] as [StaticString] {
                if let list = tape.member(persistent, key), tape.kind(list) != .array { throw fail("persistentDisposition.\(key)", "must be an array") }
            }
        }
        var declaresError = false
        if let declaration = try object(.errorDeclaration) {
            guard let time = try string("declarationTime", in: declaration, path: "errorDeclaration.declarationTime") else {
                throw fail("errorDeclaration.declarationTime", "is required")
            }
            _ = try timestamp(time, "errorDeclaration.declarationTime")
            declaresError = true
        }

        switch type {
        case .aggregation:
            if action == "ADD" && parentID == nil { throw fail("parentID", "is required in an AggregationEvent with action ADD") }
        case .association:
            if parentID == nil { throw fail("parentID", "is required in an AssociationEvent") }
        case .transaction:
            // A received copy may lack it: Article 8.4.1 (e) is not core, and agreements may redact it.
            let transactions = member(.bizTransactionList).map { tape.kind($0) == .array ? tape.count($0) : 0 } ?? 0
            if builder != nil, transactions == 0 {
                throw fail("bizTransactionList", "a TransactionEvent needs at least one business transaction")
            }
        case .transformation:
            let hasInput = member(.inputEPCList) != nil || member(.inputQuantityList) != nil
            let hasOutput = member(.outputEPCList) != nil || member(.outputQuantityList) != nil
            if !hasInput && !hasOutput { throw fail("inputEPCList", "a TransformationEvent needs inputs or outputs") }
        case .object:
            break
        }

        let hashID = givenHashID ?? builder?.hashID(of: event, in: tape) ?? EventHash.hashID(prehash: "")
        // Packed here, on the validating core, so the store's one writer only binds it.
        let span = tape.span(event)
        let stored = tape.bytes.withUnsafeBufferPointer { PackedEvent.pack(UnsafeBufferPointer(rebasing: $0[span])) }
        return EPCISEvent(type: type, hashID: hashID, parsedBody: body, stored: stored,
                          eventTime: eventTime, eventTimeZoneOffset: offset, recordTime: recordTime, action: action,
                          bizStep: bizStep, disposition: disposition, readPoint: readPoint, bizLocation: bizLocation,
                          parentID: parentID.map(canonical), uims: references.references, declaresError: declaresError)
    }
}

/// The references of one event: each (UIM, role) once, in the order first named, UIMs
/// compared as bytes (as the index orders and matches them).
///
/// A new reference is compared byte for byte only with those whose 64-bit fingerprint
/// agrees, by a scan of the fingerprints while there are few (events name ten or so;
/// comparing every pair of strings was 2% of capture). Past `scanned` references a set of
/// the byte strings takes over: its hashing is seeded, so an event cannot be made slow by
/// identifiers chosen to share a fingerprint (the fingerprint is not a secret hash).
struct UIMCollector {
    private(set) var references: [UIMReference] = []
    private var fingerprints: [UInt64] = []
    private var seen: Set<[UInt8]> = []
    static let scanned = 64

    init() {
        // Most events name up to a few dozen; growing from empty took five allocations.
        references.reserveCapacity(16)
        fingerprints.reserveCapacity(16)
    }

    mutating func add(_ reference: UIMReference) {
        if references.count < Self.scanned {
            var uim = reference.uim
            let fingerprint = uim.withUTF8 { NormalizeMemo.hash($0) }
            for (i, known) in fingerprints.enumerated() where known == fingerprint {
                if references[i].role == reference.role && codePointOrder(references[i].uim, uim) == 0 { return }
            }
            references.append(reference)
            fingerprints.append(fingerprint)
            return
        }
        if seen.isEmpty { seen = Set(references.map(Self.key)) }
        if seen.insert(Self.key(reference)).inserted { references.append(reference) }
    }

    private static func key(_ reference: UIMReference) -> [UInt8] {
        Array(reference.role.rawValue.utf8) + [0] + Array(reference.uim.utf8)
    }
}
