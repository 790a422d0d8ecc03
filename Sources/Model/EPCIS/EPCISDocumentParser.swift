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
    public static func parse(_ bytes: [UInt8], name: String, limits: JSONParser.Limits = Self.limits) throws(ModelError) -> EPCISDocument {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes, limits: limits)
        } catch {
            throw ModelError(code: "epcis.json", reason: "\(name): \(error.description)")
        }
        guard case .object(let document) = root else {
            throw ModelError(code: "epcis.document", reason: "\(name): the top level must be a JSON object, found \(root.typeDescription)")
        }
        let (kind, eventValues) = try eventList(of: document, name: name)
        var objects: [JSONObject] = []
        objects.reserveCapacity(eventValues.count)
        for (index, value) in eventValues.enumerated() {
            guard case .object(let object) = value else {
                throw ModelError(code: "epcis.event", reason: "\(name): event \(index): must be a JSON object, found \(value.typeDescription)")
            }
            objects.append(object)
        }
        let context = document["@context"]
        let hashContext = HashContext(documentContext: context, events: objects)
        let events = try validateAll(objects, bytes: bytes, context: hashContext, name: name)
        return EPCISDocument(kind: kind, context: context, events: events)
    }

    /// Events per slice when a document's events are validated and hashed on several cores.
    static let sliceSize = 256

    /// Validates and hashes `objects` in order. A large document is cut into contiguous
    /// slices validated on every core at once (each event's hash depends only on the event
    /// and the document's `HashContext`); the result, and the error reported (the first in
    /// document order), are the same as one pass in order would give.
    ///
    /// Slices borrow builders from a pool (one builder per slice running at once), so the
    /// values a builder remembers (identifiers that recur across the document: a pack
    /// commissioned early and packed later) serve the whole document, and builders are set
    /// up and freed once per core rather than once per slice.
    static func validateAll(_ objects: [JSONObject], bytes: [UInt8], context: HashContext, name: String) throws(ModelError) -> [EPCISEvent] {
        @Sendable func slice(_ range: Range<Int>, _ builder: PrehashBuilder) -> Result<[EPCISEvent], ModelError> {
            var events: [EPCISEvent] = []
            events.reserveCapacity(range.count)
            for index in range {
                do {
                    events.append(try validate(objects[index], bytes: bytes, builder: builder, location: "\(name): event \(index)"))
                } catch {
                    return .failure(error)
                }
            }
            return .success(events)
        }
        let slices = (objects.count + sliceSize - 1) / sliceSize
        guard slices > 1 else { return try slice(0..<objects.count, PrehashBuilder(context: context)).get() }
        let results = SliceResults(count: slices)
        let builders = BuilderPool(context: context)
        DispatchQueue.concurrentPerform(iterations: slices) { k in
            let builder = builders.take()
            results.set(k, slice((k * sliceSize)..<min(objects.count, (k + 1) * sliceSize), builder))
            builders.put(builder)
        }
        var events: [EPCISEvent] = []
        events.reserveCapacity(objects.count)
        for k in 0..<slices {
            // Slices cover the events in order, so the first failing slice holds the first error.
            events += try results.get(k).get()
        }
        return events
    }

    static func eventList(of document: JSONObject, name: String) throws(ModelError) -> (String, [JSONValue]) {
        let type = document["type"]?.stringValue
        if let type, EPCISEventType(rawValue: type) != nil {
            return ("event", [.object(document)])
        }
        func list(_ value: JSONValue?, _ path: String) throws(ModelError) -> [JSONValue] {
            guard let value else { throw ModelError(code: "epcis.document", reason: "\(name): missing '\(path)'") }
            guard case .array(let elements) = value else {
                throw ModelError(code: "epcis.document", reason: "\(name): '\(path)' must be an array, found \(value.typeDescription)")
            }
            return elements
        }
        guard let body = document["epcisBody"]?.objectValue else {
            if type == nil { throw ModelError(code: "epcis.document", reason: "\(name): not an EPCIS document: no 'type' and no 'epcisBody'") }
            throw ModelError(code: "epcis.document", reason: "\(name): '\(type!)' is not an EPCIS document or event type; 'epcisBody' must be an object")
        }
        switch type {
        case "EPCISDocument":
            if let single = body["event"], body["eventList"] == nil { return ("EPCISDocument", [single]) }
            return ("EPCISDocument", try list(body["eventList"], "epcisBody.eventList"))
        case "EPCISQueryDocument":
            guard let results = body["queryResults"]?.objectValue else {
                throw ModelError(code: "epcis.document", reason: "\(name): 'epcisBody.queryResults' must be an object")
            }
            guard let resultsBody = results["resultsBody"]?.objectValue else {
                throw ModelError(code: "epcis.document", reason: "\(name): 'epcisBody.queryResults.resultsBody' must be an object")
            }
            return ("EPCISQueryDocument", try list(resultsBody["eventList"], "epcisBody.queryResults.resultsBody.eventList"))
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
        try validate(event, bytes: bytes, builder: nil, location: location, hashID: hashID)
    }

    static func validate(_ event: JSONObject, bytes: [UInt8], builder: PrehashBuilder?, location: String, hashID givenHashID: String? = nil) throws(ModelError) -> EPCISEvent {
        // The builder remembers normalised identifiers for its document (the pre-hash needs them again).
        let canonical: (String) -> String = builder.map { builder in { builder.canonicalUIM($0) } } ?? UIMReference.canonical
        func fail(_ field: String, _ reason: String) -> ModelError {
            ModelError(code: "epcis.invalid", reason: "\(location): field '\(field)': \(reason)")
        }
        func string(_ field: String, in object: JSONObject = event, path: String? = nil) throws(ModelError) -> String? {
            guard let value = object[field] else { return nil }
            guard case .string(let s) = value else { throw fail(path ?? field, "must be a string, found \(value.typeDescription)") }
            return s
        }
        func stringArray(_ field: String) throws(ModelError) -> [String] {
            guard let value = event[field] else { return [] }
            guard case .array(let elements) = value else { throw fail(field, "must be an array, found \(value.typeDescription)") }
            var out: [String] = []
            out.reserveCapacity(elements.count)
            for (i, element) in elements.enumerated() {
                guard case .string(let s) = element, !s.isEmpty else { throw fail("\(field)[\(i)]", "must be a non-empty string, found \(element.typeDescription)") }
                out.append(s)
            }
            return out
        }
        func objectArray(_ field: String, _ check: (JSONObject, String) throws(ModelError) -> Void) throws(ModelError) {
            guard let value = event[field] else { return }
            guard case .array(let elements) = value else { throw fail(field, "must be an array, found \(value.typeDescription)") }
            for (i, element) in elements.enumerated() {
                guard case .object(let object) = element else { throw fail("\(field)[\(i)]", "must be an object, found \(element.typeDescription)") }
                try check(object, "\(field)[\(i)]")
            }
        }
        func timestamp(_ text: String, _ field: String) throws(ModelError) -> Timestamp {
            guard let t = Timestamp.parse(text) else {
                throw fail(field, "'\(text)' is not a valid timestamp with a time zone (e.g. 2024-05-01T10:00:00.000+05:00)")
            }
            return t
        }

        guard let typeText = try string("type") else { throw fail("type", "is required") }
        guard let type = EPCISEventType(rawValue: typeText) else {
            throw fail("type", "'\(typeText)' is not an EPCIS 2.0 event type (ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent)")
        }
        guard let eventTimeText = try string("eventTime") else { throw fail("eventTime", "is required") }
        let eventTime = try timestamp(eventTimeText, "eventTime")
        guard let offset = try string("eventTimeZoneOffset") else { throw fail("eventTimeZoneOffset", "is required") }
        guard Timestamp.isValidZoneOffset(offset) else { throw fail("eventTimeZoneOffset", "'\(offset)' is not a zone offset of the form +HH:MM or -HH:MM") }
        let recordTime = try string("recordTime").map { (t: String) throws(ModelError) -> Timestamp in try timestamp(t, "recordTime") }

        let action = try string("action")
        if type == .transformation {
            if action != nil { throw fail("action", "is not allowed in a TransformationEvent") }
        } else {
            guard let action else { throw fail("action", "is required in a \(typeText)") }
            guard action == "ADD" || action == "OBSERVE" || action == "DELETE" else {
                throw fail("action", "'\(action)' must be ADD, OBSERVE or DELETE")
            }
        }
        _ = try string("eventID")
        let bizStep = try string("bizStep").map { CBVVocabulary.expand($0, for: .bizStep) ?? CBVVocabulary.webVocabularyFromURN($0) }
        let disposition = try string("disposition").map { CBVVocabulary.expand($0, for: .disposition) ?? CBVVocabulary.webVocabularyFromURN($0) }
        func identifierOf(_ field: String) throws(ModelError) -> String? {
            guard let value = event[field] else { return nil }
            guard case .object(let object) = value else { throw fail(field, "must be an object with an 'id', found \(value.typeDescription)") }
            guard let id = try string("id", in: object, path: "\(field).id"), !id.isEmpty else { throw fail("\(field).id", "is required") }
            return canonical(id)
        }
        let readPoint = try identifierOf("readPoint")
        let bizLocation = try identifierOf("bizLocation")

        // Each (UIM, role) once, UIMs compared as bytes (as the index orders and matches
        // them): a scan of the few references an event usually has, a set of byte strings
        // once there are many.
        var uims: [UIMReference] = []
        var seen: Set<[UInt8]>?
        func add(_ identifier: String, _ role: UIMRole) {
            let reference = UIMReference(uim: canonical(identifier), role: role)
            if seen == nil {
                if uims.contains(where: { $0.role == role && codePointOrder($0.uim, reference.uim) == 0 }) { return }
                uims.append(reference)
                if uims.count == 32 { seen = Set(uims.map { Array($0.role.rawValue.utf8) + [0] + Array($0.uim.utf8) }) }
            } else if seen!.insert(Array(role.rawValue.utf8) + [0] + Array(reference.uim.utf8)).inserted {
                uims.append(reference)
            }
        }
        let parentID = try string("parentID")
        if let parentID {
            guard !parentID.isEmpty else { throw fail("parentID", "must not be empty") }
            add(parentID, .parent)
        }
        for epc in try stringArray("epcList") { add(epc, .epc) }
        for epc in try stringArray("childEPCs") { add(epc, .child) }
        for epc in try stringArray("inputEPCList") { add(epc, .input) }
        for epc in try stringArray("outputEPCList") { add(epc, .output) }
        for field in ["quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"] {
            try objectArray(field) { (element, path) throws(ModelError) in
                guard let epcClass = try string("epcClass", in: element, path: "\(path).epcClass"), !epcClass.isEmpty else {
                    throw fail("\(path).epcClass", "is required")
                }
                if let quantity = element["quantity"] {
                    guard case .number = quantity else { throw fail("\(path).quantity", "must be a number, found \(quantity.typeDescription)") }
                }
                _ = try string("uom", in: element, path: "\(path).uom")
                add(epcClass, .quantityClass)
            }
        }
        for field in ["bizTransactionList", "sourceList", "destinationList"] {
            let valueKey = field == "bizTransactionList" ? "bizTransaction" : (field == "sourceList" ? "source" : "destination")
            try objectArray(field) { (element, path) throws(ModelError) in
                guard let value = try string(valueKey, in: element, path: "\(path).\(valueKey)"), !value.isEmpty else {
                    throw fail("\(path).\(valueKey)", "is required")
                }
                let typeValue = try string("type", in: element, path: "\(path).type")
                if field != "bizTransactionList" && typeValue == nil { throw fail("\(path).type", "is required") }
            }
        }
        try objectArray("sensorElementList") { (element, path) throws(ModelError) in
            guard let reports = element["sensorReport"] else { throw fail("\(path).sensorReport", "is required") }
            guard case .array = reports else { throw fail("\(path).sensorReport", "must be an array, found \(reports.typeDescription)") }
            if let metadata = element["sensorMetadata"] {
                guard case .object(let m) = metadata else { throw fail("\(path).sensorMetadata", "must be an object") }
                for key in ["time", "startTime", "endTime"] {
                    if let t = try string(key, in: m, path: "\(path).sensorMetadata.\(key)") { _ = try timestamp(t, "\(path).sensorMetadata.\(key)") }
                }
            }
        }
        if let ilmd = event["ilmd"], ilmd.objectValue == nil { throw fail("ilmd", "must be an object, found \(ilmd.typeDescription)") }
        if let persistent = event["persistentDisposition"] {
            guard case .object(let p) = persistent else { throw fail("persistentDisposition", "must be an object") }
            for key in ["set", "unset"] {
                if let list = p[key], list.arrayValue == nil { throw fail("persistentDisposition.\(key)", "must be an array") }
            }
        }
        var declaresError = false
        if let declaration = event["errorDeclaration"] {
            guard case .object(let d) = declaration else { throw fail("errorDeclaration", "must be an object, found \(declaration.typeDescription)") }
            guard let time = try string("declarationTime", in: d, path: "errorDeclaration.declarationTime") else {
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
            if builder != nil, (event["bizTransactionList"]?.arrayValue ?? []).isEmpty {
                throw fail("bizTransactionList", "a TransactionEvent needs at least one business transaction")
            }
        case .transformation:
            let hasInput = event["inputEPCList"] != nil || event["inputQuantityList"] != nil
            let hasOutput = event["outputEPCList"] != nil || event["outputQuantityList"] != nil
            if !hasInput && !hasOutput { throw fail("inputEPCList", "a TransformationEvent needs inputs or outputs") }
        case .object:
            break
        }

        let (prehash, computedID) = builder?.prehashAndID(of: event) ?? ("", EventHash.hashID(prehash: ""))
        let raw = event.sourceRange.map { Array(bytes[$0]) } ?? JSONWriter.serialize(.object(event))
        return EPCISEvent(type: type, hashID: givenHashID ?? computedID, prehash: prehash, body: event, raw: raw,
                          eventTime: eventTime, eventTimeZoneOffset: offset, recordTime: recordTime, action: action,
                          bizStep: bizStep, disposition: disposition, readPoint: readPoint, bizLocation: bizLocation,
                          parentID: parentID.map(canonical), uims: uims, declaresError: declaresError)
    }
}

/// Builders for the slices of one document: a slice takes one (or gets a new one when all
/// are in use) and puts it back when done, so there are as many as slices ever ran at once.
private final class BuilderPool: @unchecked Sendable {
    // @unchecked Sendable: `free` is only touched between wait() and signal() of `lock`.
    private let lock = DispatchSemaphore(value: 1)
    private var free: [PrehashBuilder] = []
    private let context: HashContext

    init(context: HashContext) { self.context = context }

    func take() -> PrehashBuilder {
        lock.wait()
        let builder = free.popLast()
        lock.signal()
        return builder ?? PrehashBuilder(context: context)
    }

    func put(_ builder: PrehashBuilder) {
        lock.wait()
        free.append(builder)
        lock.signal()
    }
}

/// One result per slice, each written by exactly one `concurrentPerform` iteration and read
/// only after all of them have returned (which orders every access). Raw storage, so
/// writes to different slots are not one exclusive access to a shared array.
private final class SliceResults: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Result<[EPCISEvent], ModelError>?>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }

    func set(_ index: Int, _ result: Result<[EPCISEvent], ModelError>) { storage[index] = result }

    func get(_ index: Int) -> Result<[EPCISEvent], ModelError> { storage[index]! }
}
