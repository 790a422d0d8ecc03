import Crypto

/// The CBV 2.0 event hash ID (`ni:///sha-256;<hex>?ver=CBV2.0`) of EPCIS 2.0 JSON events.
///
/// The algorithm (CBV 2.0 §8.9, as implemented by GS1 Germany's reference generator, which
/// is the yardstick: PyPI `epcis-event-hash-generator` 1.9.3):
///
/// 1. The event becomes a tree of (name, text, children). Object members become children
///    named by their key; a list member becomes one child per element, each named by the
///    key; prefixes declared in the document's `@context` are written `{namespace}local`
///    in keys and expanded in values.
/// 2. Structural corrections align JSON with the XML model: `xxxList` children are
///    grouped under one `xxxList` node whose children are named `xxx`; `childEPCs` become
///    `epc`; `inputEPC`/`outputEPC` become `epc`; quantity elements become
///    `quantityElement`; source/destination/bizTransaction list elements become
///    (type, value) pairs in source order.
/// 3. The pre-hash string is `eventType=<type>`, then the standard fields in the fixed
///    CBV order (`eventTime`, `eventTimeZoneOffset`, `certificationInfo`, `parentID`,
///    `epcList`, … `sensorElementList`), each `name=value`, values of one field sorted,
///    then everything else (user extensions, `ilmd`, the three typed lists) as
///    `name=value` strings sorted by code point. `recordTime`, `eventID`, `type` and
///    `errorDeclaration` are left out, so an error declaration has the ID of the event it
///    declares erroneous.
/// 4. Values are canonicalised: timestamps in time fields to UTC with milliseconds and
///    `Z`; old CBV URNs to web vocabulary URIs; numbers to their shortest form (integers
///    without `.0`); GS1 keys (EPC URNs, Digital Link) to canonical GS1 Digital Link URIs;
///    CBV bare words (`shipping`) to their URIs.
/// 5. SHA-256 over the UTF-8 pre-hash string, written as a `ni:` URI.
///
/// Where the reference generator fails on an event (it raises, and prints no hash), this
/// implementation still produces a hash following the same rules; those cases are noted
/// at the code that handles them.
public enum EventHash {
    /// The hash ID of a pre-hash string.
    public static func hashID(prehash: String) -> String {
        "ni:///sha-256;" + SHA256.hexHash(prehash.utf8) + "?ver=CBV2.0"
    }

    /// The hash ID of a pre-hash string given as its UTF-8 bytes, written straight into
    /// the string's storage (one allocation rather than one per piece).
    static func hashID(prehashBytes: [UInt8]) -> String {
        let digest = SHA256.hash(prehashBytes)
        let prefix: StaticString = "ni:///sha-256;", suffix: StaticString = "?ver=CBV2.0"
        let hexDigits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: prefix.utf8CodeUnitCount + 64 + suffix.utf8CodeUnitCount) { out in
            var n = 0
            for i in 0..<prefix.utf8CodeUnitCount { out[n] = prefix.utf8Start[i]; n += 1 }
            for byte in digest {
                out[n] = hexDigits.utf8Start[Int(byte >> 4)]
                out[n + 1] = hexDigits.utf8Start[Int(byte & 0x0F)]
                n += 2
            }
            for i in 0..<suffix.utf8CodeUnitCount { out[n] = suffix.utf8Start[i]; n += 1 }
            return n
        }
    }
}

/// Document-wide facts the pre-hash needs: declared namespace prefixes and the bare-word
/// replacements that JSON-LD expansion of the document implies.
public struct HashContext: Sendable {
    /// Prefix → `{namespace}` for keys (values use the namespace without braces).
    var namespaces: [String: String]
    /// Bare string → the single vocabulary URI it expands to in this document.
    var bareWords: [String: String]

    /// The context of a whole EPCIS document, given its `@context` and all its events.
    ///
    /// Like the reference generator (which expands the document with JSON-LD and then
    /// replaces every string value that is the suffix of exactly one expanded CBV or GS1
    /// vocabulary URI), bare words are resolved per document: a word is replaced only if
    /// it names exactly one vocabulary URI used in the document.
    public init(documentContext: JSONValue?, events: [JSONObject]) {
        let tape = try! JSONTape.of(JSONObject([JSONObject.Member(key: "events", value: .array(events.map(JSONValue.object)))]))
        var tokens: [Int] = []
        if let list = tape.member(tape.root, "events") { tape.forEachElement(list) { tokens.append($0) } }
        self.init(documentContext: documentContext, tape: tape, events: tokens)
    }

    /// The context of a document read as a tape: `events` are the events' object tokens.
    public init(documentContext: JSONValue?, tape: JSONTape, events: [Int]) {
        namespaces = [:]
        if case .array(let entries)? = documentContext {
            for entry in entries {
                switch entry {
                case .string(let url): namespaces[url] = "{" + url + "}"
                case .object(let object):
                    for member in object.members {
                        // A term defined by an object (`{"@id": …}`) is not a plain prefix.
                        if case .string(let url) = member.value { namespaces[member.key] = "{" + url + "}" }
                    }
                default: break
                }
            }
        }
        var expanded = Set<String>()
        var collector = VocabularyCollector()
        for event in events { collector.collect(event, in: tape, into: &expanded) }
        var candidates: [String: Set<String>] = [:]
        for uri in expanded {
            var index = uri.utf8.startIndex
            for byte in uri.utf8 {
                index = uri.utf8.index(after: index)
                if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "/") {
                    candidates[String(uri[index...]), default: []].insert(uri)
                }
            }
        }
        bareWords = [:]
        for (word, uris) in candidates where uris.count == 1 && !word.isEmpty {
            bareWords[word] = uris.first!
        }
        for (word, uri) in bareWords {
            _ = bareWordIndex.insert(word)
            bareWordBytes.append(Array(uri.utf8))
        }
        for (prefix, namespace) in namespaces {
            _ = prefixIndex.insert(prefix)
            prefixValueBytes.append(Array(namespace.utf8).filter { $0 != UInt8(ascii: "{") && $0 != UInt8(ascii: "}") })
        }
    }

    /// `bareWords` and `namespaces` by exact bytes, for the pre-hash builder: the index a
    /// word or prefix has in its `ByteMap` is its position in the bytes array beside it.
    private(set) var bareWordIndex = ByteMap()
    private(set) var bareWordBytes: [[UInt8]] = []
    private(set) var prefixIndex = ByteMap()
    /// A prefix's namespace as values take it (`expandPrefix(_:isValue: true)`: no braces).
    private(set) var prefixValueBytes: [[UInt8]] = []

    /// `_namespace_replace`: `prefix:local` with a declared prefix becomes
    /// `{namespace}local` (keys) or `namespacelocal` (values).
    func expandPrefix(_ text: String, isValue: Bool) -> String {
        guard !namespaces.isEmpty, let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")) else { return text }
        let prefix = String(text[..<colon])
        guard let namespace = namespaces[prefix] else { return text }
        let rest = text[text.utf8.index(after: colon)...]
        if isValue {
            return namespace.replacingAll("{", with: "").replacingAll("}", with: "") + rest
        }
        return namespace + rest
    }
}

/// The ordering of standard fields (CBV 2.0 §8.9.2, the reference's `PROP_ORDER`).
///
/// A plain struct rather than an indirect enum, so the static table is ordinary arrays
/// (LeakSanitizer cannot see references held in indirect-enum boxes of a global).
struct HashOrder {
    /// The field name.
    let name: String
    /// The order of its sub-fields, for structured fields.
    let subOrder: Level?
    /// A typed list whose (type, value) pairs never match by name: the reference leaves
    /// them to the "other fields" part, where they are sorted as strings.
    let isTypedList: Bool

    static func field(_ name: String, _ subOrder: [HashOrder]? = nil) -> HashOrder {
        HashOrder(name: name, subOrder: subOrder.map(Level.init), isTypedList: false)
    }

    /// The fields of one level, in order, with each name's position (names are distinct).
    struct Level {
        let fields: [HashOrder]
        let index: [String: Int]

        init(_ fields: [HashOrder]) {
            self.fields = fields
            index = Dictionary(uniqueKeysWithValues: fields.enumerated().map { ($1.name, $0) })
        }
    }

    static let eventLevel = Level(event)

    static func typedList(_ name: String) -> HashOrder {
        HashOrder(name: name, subOrder: nil, isTypedList: true)
    }

    static let event: [HashOrder] = {
        let quantity: [HashOrder] = [.field("quantityElement", [.field("epcClass"), .field("quantity"), .field("uom")])]
        let epc: [HashOrder] = [.field("epc")]
        let metadata = ["time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules"]
        let report = ["type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
                      "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
                      "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank",
                      "percValue", "uom", "coordinateReferenceSystem"]
        return [
            .field("eventTime"), .field("eventTimeZoneOffset"), .field("certificationInfo"),
            .field("parentID"), .field("epcList", epc), .field("inputEPCList", epc), .field("childEPCs", epc),
            .field("quantityList", quantity), .field("childQuantityList", quantity), .field("inputQuantityList", quantity),
            .field("outputEPCList", epc), .field("outputQuantityList", quantity), .field("action"),
            .field("transformationID"), .field("bizStep"), .field("disposition"),
            .field("persistentDisposition", [.field("set"), .field("unset")]),
            .field("readPoint", [.field("id")]), .field("bizLocation", [.field("id")]),
            .typedList("bizTransactionList"), .typedList("sourceList"), .typedList("destinationList"),
            .field("sensorElementList", [.field("sensorElement", [
                .field("sensorMetadata", metadata.map { .field($0) }),
                .field("sensorReport", report.map { .field($0) }),
            ])]),
        ]
    }()
}

extension HashOrder {
    /// One level of the order, numbered: `levels[0]` is the event level, and a field's
    /// `sub` is the number of its sub-fields' level (−1 for none).
    struct NumberedLevel {
        let names: [String]
        let sub: [Int]
        let typed: [Bool]
    }

    /// Every level reachable from the event level, numbered depth first (the pre-hash
    /// builder keeps, per field name, its position in each level).
    static let levels: [NumberedLevel] = {
        var table: [NumberedLevel?] = []
        func number(_ level: Level) -> Int {
            let id = table.count
            table.append(nil)
            let sub = level.fields.map { field in field.subOrder.map(number) ?? -1 }
            table[id] = NumberedLevel(names: level.fields.map(\.name), sub: sub, typed: level.fields.map(\.isTypedList))
            return id
        }
        _ = number(eventLevel)
        return table.map { $0! }
    }()
}

/// Remembers `DigitalLinkNormalizer.normalize` results within one document: the same
/// identifier is normalised for the UIM index and again for the pre-hash, and read points,
/// locations and classes repeat across events. The function is pure, so a remembered
/// answer is the answer.
///
/// A direct-mapped cache: each identifier has one slot, chosen by a word-at-a-time hash of
/// its UTF-8 bytes, and a newer identifier for the same slot replaces the older. A slot
/// answers only for the same bytes (compared in full): Swift's `String` equality is
/// canonical equivalence ("é" equals "e\u{301}"), but the normaliser, like the Python
/// reference, sees different code points. (It was a `Dictionary`; its SipHash seeding,
/// hashing and probing were ~7% of capture CPU.)
final class NormalizeMemo {
    private struct Entry {
        let identifier: String
        let answer: String?
    }

    static let slots = 4096
    private var entries = [Entry?](repeating: nil, count: NormalizeMemo.slots)

    func normalize(_ identifier: String) -> String? {
        var bytes = identifier
        // Most identifiers are already canonical Digital Link URIs: no lookup, no copy.
        if bytes.withUTF8(DigitalLinkNormalizer.isCanonicalAsIs) { return identifier }
        let slot = bytes.withUTF8 { Int(truncatingIfNeeded: Self.hash($0)) & (Self.slots - 1) }
        if let entry = entries[slot], codePointOrder(entry.identifier, identifier) == 0 { return entry.answer }
        let answer = DigitalLinkNormalizer.normalizeWithoutShortcut(identifier)  // the shortcut was tried above
        entries[slot] = Entry(identifier: identifier, answer: answer)
        return answer
    }

    /// A 64-bit mix of the bytes, eight at a time (not for anything but choosing a slot).
    @inline(__always) static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        guard let base = bytes.baseAddress else { return h }
        var i = 0
        while i + 8 <= bytes.count {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            h = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count {
            tail |= UInt64(base[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 29)
    }
}

/// Code point order of two strings as −1, 0 or 1 (Python's `str` order; bytes, not
/// Swift's canonical equivalence). It is also SQLite's BINARY collation of UTF-8 text, which
/// the store relies on to write index runs in key order.
///
/// Compares the contiguous UTF-8 storage directly: the generic
/// `utf8.lexicographicallyPrecedes` went through the String views' iterators and was the
/// largest single cost of capture (perf: 20–25% of CPU, from the member sorts of every object).
@inline(__always) public func codePointOrder(_ a: String, _ b: String) -> Int {
    var a = a
    var b = b
    return a.withUTF8 { x in b.withUTF8 { y in compareBytes(x, y) } }
}

extension String {
    /// Whether `needle` occurs in the string's UTF-8 bytes (Python's `in` on `str`).
    /// The generic `contains(_:)` matches by Character through the string-processing
    /// library and was a fifth of capture's CPU time; the pre-hash needs code points.
    @inline(__always) func containsBytes(_ needle: StaticString) -> Bool {
        var copy = self
        return copy.withUTF8 { hay in
            let n = needle.utf8CodeUnitCount
            guard n > 0 else { return true }
            guard hay.count >= n else { return false }
            let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: n)
            var i = 0
            while i <= hay.count - n {
                if hay[i] == pattern[0] {
                    var j = 1
                    while j < n && hay[i + j] == pattern[j] { j += 1 }
                    if j == n { return true }
                }
                i += 1
            }
            return false
        }
    }

    /// Python's `needle in self.lower()` for an ASCII lower-case `needle`, without building
    /// the lower-cased copy when the string is ASCII (then lower-casing is per byte).
    @inline(__always) func lowercasedContains(_ needle: StaticString) -> Bool {
        var copy = self
        let ascii = copy.withUTF8 { $0.allSatisfy { $0 < 0x80 } }
        guard ascii else { return lowercased().containsBytes(needle) }
        return copy.withUTF8 { hay in
            let n = needle.utf8CodeUnitCount
            guard hay.count >= n else { return n == 0 }
            let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: n)
            @inline(__always) func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
            var i = 0
            while i <= hay.count - n {
                var j = 0
                while j < n && lower(hay[i + j]) == pattern[j] { j += 1 }
                if j == n { return true }
                i += 1
            }
            return false
        }
    }

    /// Every occurrence of `target` replaced by `replacement` (Python's `str.replace`).
    func replacingAll(_ target: String, with replacement: String) -> String {
        let needle = Array(target.utf8)
        guard let first = needle.first else { return self }
        let haystack = Array(self.utf8)
        var out: [UInt8] = []
        var i = 0
        var changed = false
        while i < haystack.count {
            if haystack[i] == first, i + needle.count <= haystack.count, haystack[i..<(i + needle.count)].elementsEqual(needle) {
                out.append(contentsOf: replacement.utf8)
                i += needle.count
                changed = true
            } else {
                out.append(haystack[i])
                i += 1
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : self
    }
}

/// The vocabulary URIs a document's events use (`HashContext` derives the bare-word
/// replacements from them): for each event, the expanded form of every vocabulary-typed
/// value, and every string that already is a CBV or GS1 vocabulary URI. The event's
/// vocabulary members are found in one pass over its members, and a (field, word) already
/// seen in the document is not expanded and inserted again (most events repeat a handful
/// of words; this runs on one thread before a document's events are validated on every core).
struct VocabularyCollector {
    /// The event members that hold vocabulary words, at their indices in `names` (keys
    /// spelled out, as for `EPCISDocumentParser.EventMember`).
    enum Member: Int, CaseIterable {
        case bizStep, disposition, persistentDisposition, bizTransactionList, sourceList, destinationList,
             sensorElementList, errorDeclaration
        static let keys = ["bizStep", "disposition", "persistentDisposition", "bizTransactionList", "sourceList",
                           "destinationList", "sensorElementList", "errorDeclaration"]
        static let names = MemberNames(keys)
    }

    private var values: [Int] = []
    /// Per `CBVVocabulary.Field` (by `slot`), the words already added.
    private var seen = [ByteMap](repeating: ByteMap(), count: CBVVocabulary.Field.allCases.count)

    private static func slot(_ field: CBVVocabulary.Field) -> Int {
        switch field {
        case .bizStep: 0
        case .disposition: 1
        case .sourceDestinationType: 2
        case .bizTransactionType: 3
        case .measurementType: 4
        case .sensorException: 5
        case .sensorComponent: 6
        case .errorReason: 7
        }
    }

    mutating func collect(_ event: Int, in tape: JSONTape, into set: inout Set<String>) {
        guard tape.kind(event) == .object else { return }
        tape.members(event, named: Member.names, into: &values)
        var words: [(value: Int, field: CBVVocabulary.Field)] = []
        func member(_ m: Member) -> Int? { values[m.rawValue] < 0 ? nil : values[m.rawValue] }
        func add(_ value: Int?, _ field: CBVVocabulary.Field) {
            guard let value, tape.kind(value) == .string else { return }
            words.append((value, field))
        }
        func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
            bytes.count >= prefix.utf8CodeUnitCount
                && compareBytes(bytes.baseAddress, prefix.utf8CodeUnitCount, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
        }
        func scan(_ value: Int) {
            switch tape.kind(value) {
            case .string:
                let isVocabulary = tape.withStringBytes(value) { hasPrefix($0, "https://ref.gs1.org/cbv") || hasPrefix($0, "https://gs1.org/voc") }
                if isVocabulary { set.insert(tape.string(value)) }
            case .array: tape.forEachElement(value, scan)
            case .object: tape.forEachMember(value) { _, member in scan(member) }
            default: break
            }
        }
        func object(_ value: Int?) -> Int? {
            guard let value, tape.kind(value) == .object else { return nil }
            return value
        }
        func elements(_ value: Int?, _ body: (Int) -> Void) {
            guard let value, tape.kind(value) == .array else { return }
            tape.forEachElement(value, body)
        }
        scan(event)
        add(member(.bizStep), .bizStep)
        add(member(.disposition), .disposition)
        if let persistent = object(member(.persistentDisposition)) {
            elements(tape.member(persistent, "set")) { add($0, .disposition) }
            elements(tape.member(persistent, "unset")) { add($0, .disposition) }
        }
        elements(member(.bizTransactionList)) { add(object($0).flatMap { tape.member($0, "type") }, .bizTransactionType) }
        elements(member(.sourceList)) { add(object($0).flatMap { tape.member($0, "type") }, .sourceDestinationType) }
        elements(member(.destinationList)) { add(object($0).flatMap { tape.member($0, "type") }, .sourceDestinationType) }
        elements(member(.sensorElementList)) { element in
            func report(_ report: Int) {
                guard let report = object(report) else { return }
                add(tape.member(report, "type"), .measurementType)
                add(tape.member(report, "exception"), .sensorException)
                add(tape.member(report, "component"), .sensorComponent)
            }
            guard let reports = object(element).flatMap({ tape.member($0, "sensorReport") }) else { return }
            if tape.kind(reports) == .array { tape.forEachElement(reports, report) } else { report(reports) }
        }
        add(object(member(.errorDeclaration)).flatMap { tape.member($0, "reason") }, .errorReason)
        // Each (field, word) once per document.
        for (value, field) in words {
            let slot = Self.slot(field)
            guard tape.withStringBytes(value, { seen[slot].insert($0).inserted }) else { continue }
            let word = tape.string(value)
            if let uri = CBVVocabulary.expand(word, for: field) {
                set.insert(uri)
            } else if word.hasPrefix("cbv:") {
                set.insert("https://ref.gs1.org/cbv/" + word.dropFirst(4))
            } else if word.hasPrefix("gs1:") {
                set.insert("https://gs1.org/voc/" + word.dropFirst(4))
            }
        }
    }
}
