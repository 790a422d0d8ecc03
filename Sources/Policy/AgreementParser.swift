public import Model
import Crypto

/// Reads an agreement document, collecting every problem with its JSON path instead of
/// stopping at the first, so `Agreement.parse` can refuse on the first and `Lint` can list
/// them all. Unknown members never stop the structure from being read; they are issues.
public enum AgreementParser {
    /// What reading produced: the agreement when every required value could be read, and
    /// every issue found (an agreement with any issue is refused by `Agreement.parse`).
    public struct Result: Sendable {
        public let agreement: Agreement?
        public let issues: [PolicyError]
    }

    /// Reads a JSON document (duplicate keys are refused by the JSON parser).
    public static func read(_ bytes: [UInt8]) -> Result {
        do {
            return read(try JSONParser.parse(bytes))
        } catch {
            return Result(agreement: nil, issues: [PolicyError(code: "agreement.json", reason: "agreement: \(error.description)")])
        }
    }

    /// Reads a parsed document.
    public static func read(_ value: JSONValue) -> Result {
        var reader = Reader()
        let agreement = reader.agreement(value)
        return Result(agreement: agreement, issues: reader.issues)
    }
}

/// The members each object of the schema may have (docs/agreements.md); anything else is refused.
enum Schema {
    static let root = ["id", "version", "supersedes", "profile", "parties", "validity", "purposes", "legalBasis",
                       "flows", "onwardTransfer", "relay", "enquiry", "termination", "signatures"]
    static let rootOptional: Set<String> = ["signatures"]
    static let party = ["party", "competentAuthority"]
    static let validity = ["notBefore", "notAfter"]
    static let flow = ["id", "from", "to", "action", "rowFilter", "fields", "duties"]
    static let rowFilter = ["eventTypes", "bizSteps", "dispositions", "productCategories", "sourceCountry",
                            "destinationCountry", "eventTimeFrom", "eventTimeBefore"]
    static let duties = ["retentionDays", "receipts"]
    static let onwardTransfer = ["allowed"]
    static let relay = ["viaHub"]
    static let enquiry = ["mode", "maxUIMs", "answerWithinHours"]
    static let termination = ["noticeDays", "receivedData"]
    static let signature = ["party", "cms"]
}

struct Reader {
    var issues: [PolicyError] = []

    mutating func issue(_ code: String, _ path: String, _ message: String) {
        issues.append(PolicyError(code: code, path: path, reason: "agreement: \(path.isEmpty ? "document" : path): \(message)"))
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The object at `path`, with unknown members and missing required members reported.
    mutating func object(_ value: JSONValue?, _ path: String, members: [String], optional: Set<String> = []) -> JSONObject? {
        guard let value else { return nil }  // a missing member is reported by its parent
        guard case .object(let object) = value else { issue("agreement.type", path, "must be an object, found \(value.typeDescription)"); return nil }
        for key in object.keys where !members.contains(key) {
            issue("agreement.unknown-member", Self.join(path, key), "unknown member (an agreement with an unknown term is refused)")
        }
        for key in members where !optional.contains(key) && object[key] == nil {
            issue("agreement.missing", Self.join(path, key), "is required")
        }
        return object
    }

    mutating func string(_ value: JSONValue?, _ path: String) -> String? {
        guard let value else { return nil }  // absence is reported by `object`
        guard case .string(let s) = value else { issue("agreement.type", path, "must be a string, found \(value.typeDescription)"); return nil }
        guard !s.isEmpty else { issue("agreement.value", path, "must not be empty"); return nil }
        return s
    }

    mutating func integer(_ value: JSONValue?, _ path: String) -> Int? {
        guard let value else { return nil }
        guard case .number(let text) = value else { issue("agreement.type", path, "must be an integer, found \(value.typeDescription)"); return nil }
        guard let n = Int(text) else { issue("agreement.type", path, "must be an integer, found '\(text)'"); return nil }
        return n
    }

    mutating func bool(_ value: JSONValue?, _ path: String) -> Bool? {
        guard let value else { return nil }
        guard case .bool(let b) = value else { issue("agreement.type", path, "must be a boolean, found \(value.typeDescription)"); return nil }
        return b
    }

    mutating func array(_ value: JSONValue?, _ path: String) -> [JSONValue]? {
        guard let value else { return nil }
        guard case .array(let a) = value else { issue("agreement.type", path, "must be an array, found \(value.typeDescription)"); return nil }
        return a
    }

    /// Each element read by `read`; nil if the array or any element is wrong.
    mutating func list<T>(_ value: JSONValue?, _ path: String, _ read: (inout Reader, JSONValue, String) -> T?) -> [T]? {
        guard let elements = array(value, path) else { return nil }
        var out: [T] = []
        var ok = true
        for (i, element) in elements.enumerated() {
            if let item = read(&self, element, "\(path)[\(i)]") { out.append(item) } else { ok = false }
        }
        return ok ? out : nil
    }

    mutating func timestamp(_ value: JSONValue?, _ path: String) -> Timestamp? {
        guard let text = string(value, path) else { return nil }
        guard let t = Timestamp.parse(text) else {
            issue("agreement.value", path, "'\(text)' is not a timestamp with a time zone (e.g. 2026-01-01T00:00:00Z)")
            return nil
        }
        return t
    }

    mutating func vocabulary<T: RawRepresentable & CaseIterable>(_ value: JSONValue?, _ path: String, _ type: T.Type) -> T? where T.RawValue == String {
        guard let text = string(value, path) else { return nil }
        guard let v = T(rawValue: text) else {
            issue("agreement.value", path, "'\(text)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return v
    }

    /// A national Party URN; the industry (or anything else) is never a Party (Art. 8.12).
    mutating func party(_ value: JSONValue?, _ path: String) -> PartyID? {
        guard let text = string(value, path) else { return nil }
        guard text.hasPrefix("urn:fctc:party:"), let id = try? PartyID(urn: text) else {
            issue("agreement.party", path, "'\(text)' is not a Party: only a Party to the Protocol (urn:fctc:party:XX) may be one, and the tobacco industry never is (Art. 8.12)")
            return nil
        }
        return id
    }

    mutating func hub(_ value: JSONValue?, _ path: String) -> PartyID? {
        guard let text = string(value, path) else { return nil }
        guard text.hasPrefix("urn:fctc:hub:"), let id = try? PartyID(urn: text) else {
            issue("agreement.party", path, "'\(text)' is not a hub (urn:fctc:hub:NAME)")
            return nil
        }
        return id
    }

    mutating func country(_ value: JSONValue?, _ path: String, token: String, match: Agreement.CountryMatch) -> Agreement.CountryMatch? {
        guard let text = string(value, path) else { return nil }
        if text == token { return match }
        guard text.utf8.count == 2, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            issue("agreement.value", path, "'\(text)' is neither an ISO 3166-1 alpha-2 code (upper case) nor \"\(token)\"")
            return nil
        }
        return .country(text)
    }

    /// A CBV business step or disposition as its web vocabulary URI; other values are refused.
    mutating func cbv(_ value: JSONValue, _ path: String, _ field: CBVVocabulary.Field) -> String? {
        guard let text = string(value, path) else { return nil }
        let uri = CBVVocabulary.expand(text, for: field) ?? CBVVocabulary.webVocabularyFromURN(text)
        guard CBVVocabulary.table(for: field).values.contains(uri) else {
            issue("agreement.value", path, "'\(text)' is not a CBV 2.0 \(field == .bizStep ? "business step" : "disposition")")
            return nil
        }
        return uri
    }

    mutating func agreement(_ value: JSONValue) -> Agreement? {
        guard let root = object(value, "", members: Schema.root, optional: Schema.rootOptional) else { return nil }
        let id = string(root["id"], "id")
        var version = integer(root["version"], "version")
        if let v = version, v < 1 { issue("agreement.value", "version", "must be 1 or more"); version = nil }
        var supersedes: String?? = nil
        switch root["supersedes"] {
        case .null?: supersedes = .some(nil)
        case let other?:
            if let text = string(other, "supersedes") {
                if text.utf8.count == 64 && text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) {
                    supersedes = .some(text)
                } else {
                    issue("agreement.value", "supersedes", "must be null or the lower-case hex SHA-256 of the previous version")
                }
            }
        case nil: break
        }
        var profile = string(root["profile"], "profile")
        if let p = profile, !Agreement.knownProfiles.contains(p) {
            issue("agreement.profile", "profile", "unknown profile '\(p)' (known: \(Agreement.knownProfiles.sorted().joined(separator: ", ")))")
            profile = nil
        }
        let parties = list(root["parties"], "parties") { (r: inout Reader, v: JSONValue, p: String) -> Agreement.Party? in
            guard let o = r.object(v, p, members: Schema.party) else { return nil }
            let party = r.party(o["party"], Reader.join(p, "party"))
            let authority = r.string(o["competentAuthority"], Reader.join(p, "competentAuthority"))
            guard let party, let authority else { return nil }
            return Agreement.Party(party: party, competentAuthority: authority)
        }
        if let parties, parties.count < 2 { issue("agreement.value", "parties", "needs at least 2 Parties (2 = bilateral, more = multilateral)") }
        var validity: Agreement.Validity?
        if let o = object(root["validity"], "validity", members: Schema.validity) {
            let from = timestamp(o["notBefore"], "validity.notBefore")
            let to = timestamp(o["notAfter"], "validity.notAfter")
            if let from, let to { validity = Agreement.Validity(notBefore: from, notAfter: to) }
        }
        let purposes = list(root["purposes"], "purposes") { (r: inout Reader, v: JSONValue, p: String) in r.vocabulary(v, p, Agreement.Purpose.self) }
        if let purposes, purposes.isEmpty { issue("agreement.value", "purposes", "must name at least one purpose") }
        let legalBasis = string(root["legalBasis"], "legalBasis")
        let flows = list(root["flows"], "flows") { (r: inout Reader, v: JSONValue, p: String) in r.flow(v, p) }
        let onward = onwardTransfer(root["onwardTransfer"])
        var relay: Agreement.Relay?
        if let o = object(root["relay"], "relay", members: Schema.relay) {
            switch o["viaHub"] {
            case .null?: relay = Agreement.Relay(viaHub: nil)
            case let v?: if let hub = hub(v, "relay.viaHub") { relay = Agreement.Relay(viaHub: hub) }
            case nil: break
            }
        }
        var enquiry: Agreement.EnquiryTerms?
        if let o = object(root["enquiry"], "enquiry", members: Schema.enquiry, optional: ["maxUIMs"]) {
            let mode = vocabulary(o["mode"], "enquiry.mode", Agreement.EnquiryTerms.Mode.self)
            var maxUIMs: Int?
            var maxOK = true
            if let v = o["maxUIMs"], v != .null {
                maxUIMs = integer(v, "enquiry.maxUIMs")
                maxOK = maxUIMs != nil
            }
            let hours = integer(o["answerWithinHours"], "enquiry.answerWithinHours")
            if let mode, let hours, maxOK { enquiry = Agreement.EnquiryTerms(mode: mode, maxUIMs: maxUIMs, answerWithinHours: hours) }
        }
        var termination: Agreement.Termination?
        if let o = object(root["termination"], "termination", members: Schema.termination) {
            let days = integer(o["noticeDays"], "termination.noticeDays")
            let data = vocabulary(o["receivedData"], "termination.receivedData", Agreement.Termination.ReceivedData.self)
            if let days, let data { termination = Agreement.Termination(noticeDays: days, receivedData: data) }
        }
        var signatures: [Agreement.Signature]? = []
        if root["signatures"] != nil {
            signatures = list(root["signatures"], "signatures") { (r: inout Reader, v: JSONValue, p: String) -> Agreement.Signature? in
                guard let o = r.object(v, p, members: Schema.signature) else { return nil }
                let party = r.party(o["party"], Reader.join(p, "party"))
                let cms = r.string(o["cms"], Reader.join(p, "cms"))
                if let cms, !cms.utf8.allSatisfy({ Self.isBase64($0) }) {
                    r.issue("agreement.value", Reader.join(p, "cms"), "must be base64 (DER CMS SignedData)")
                    return nil
                }
                guard let party, let cms else { return nil }
                return Agreement.Signature(party: party, cms: cms)
            }
        }

        var unsigned = root
        unsigned["signatures"] = nil
        let canonical: [UInt8]
        do {
            canonical = try JCS.canonicalize(.object(unsigned))
        } catch {
            issue("agreement.value", error.path, error.reason)
            return nil
        }
        guard let id, let version, let supersedes, let profile, let parties, let validity, let purposes, let legalBasis,
              let flows, let onward, let relay, let enquiry, let termination, let signatures else { return nil }
        return Agreement(id: id, version: version, supersedes: supersedes, profile: profile, parties: parties, validity: validity,
                         purposes: purposes, legalBasis: legalBasis, flows: flows, onwardTransfer: onward, relay: relay,
                         enquiry: enquiry, termination: termination, signatures: signatures, document: root,
                         hash: SHA256.hexHash(canonical), canonicalBytes: canonical)
    }

    static func isBase64(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
    }

    mutating func onwardTransfer(_ value: JSONValue?) -> Agreement.OnwardTransfer? {
        guard let o = object(value, "onwardTransfer", members: Schema.onwardTransfer) else { return nil }
        switch o["allowed"] {
        case .bool(false)?: return .forbidden
        case .bool(true)?:
            issue("agreement.value", "onwardTransfer.allowed", "must be false or the list of Parties data may be passed on to (never a blanket true)")
            return nil
        case let v?:
            guard case .array = v else {
                issue("agreement.type", "onwardTransfer.allowed", "must be false or an array of Party URNs, found \(v.typeDescription)")
                return nil
            }
            return list(v, "onwardTransfer.allowed") { (r: inout Reader, v: JSONValue, p: String) in r.party(v, p) }.map { .allowed($0) }
        case nil: return nil
        }
    }

    mutating func flow(_ value: JSONValue, _ path: String) -> Agreement.Flow? {
        guard let o = object(value, path, members: Schema.flow) else { return nil }
        let id = string(o["id"], Self.join(path, "id"))
        let from = list(o["from"], Self.join(path, "from")) { (r: inout Reader, v: JSONValue, p: String) in r.party(v, p) }
        let to = list(o["to"], Self.join(path, "to")) { (r: inout Reader, v: JSONValue, p: String) in r.party(v, p) }
        let action = vocabulary(o["action"], Self.join(path, "action"), Agreement.Flow.Action.self)
        let filter = rowFilter(o["rowFilter"], Self.join(path, "rowFilter"))
        var fields = list(o["fields"], Self.join(path, "fields")) { (r: inout Reader, v: JSONValue, p: String) in r.vocabulary(v, p, Agreement.Element.self) }
        if let f = fields, Set(f).count != f.count {
            issue("agreement.value", Self.join(path, "fields"), "names an element twice")
            fields = nil
        }
        var duties: Agreement.Duties?
        let dutiesPath = Self.join(path, "duties")
        if let d = object(o["duties"], dutiesPath, members: Schema.duties) {
            let days = integer(d["retentionDays"], Self.join(dutiesPath, "retentionDays"))
            var receipts = bool(d["receipts"], Self.join(dutiesPath, "receipts"))
            if receipts == false {
                issue("agreement.value", Self.join(dutiesPath, "receipts"), "must be true: signed receipts are always owed")
                receipts = nil
            }
            if let days, let receipts { duties = Agreement.Duties(retentionDays: days, receipts: receipts) }
        }
        guard let id, let from, let to, let action, let filter, let fields, let duties else { return nil }
        return Agreement.Flow(id: id, from: from, to: to, action: action, rowFilter: filter, fields: fields, duties: duties)
    }

    mutating func rowFilter(_ value: JSONValue?, _ path: String) -> Agreement.RowFilter? {
        guard let o = object(value, path, members: Schema.rowFilter, optional: Set(Schema.rowFilter)) else { return nil }
        var ok = true
        func track<T>(_ v: T?, present: Bool) -> T? { if present && v == nil { ok = false }; return v }
        let eventTypes = track(o["eventTypes"].flatMap { v in list(v, Self.join(path, "eventTypes")) { (r: inout Reader, v: JSONValue, p: String) in r.vocabulary(v, p, EPCISEventType.self) } }, present: o["eventTypes"] != nil)
        let bizSteps = track(o["bizSteps"].flatMap { v in list(v, Self.join(path, "bizSteps")) { (r: inout Reader, v: JSONValue, p: String) in r.cbv(v, p, .bizStep) } }, present: o["bizSteps"] != nil)
        let dispositions = track(o["dispositions"].flatMap { v in list(v, Self.join(path, "dispositions")) { (r: inout Reader, v: JSONValue, p: String) in r.cbv(v, p, .disposition) } }, present: o["dispositions"] != nil)
        let categories = track(o["productCategories"].flatMap { v in list(v, Self.join(path, "productCategories")) { (r: inout Reader, v: JSONValue, p: String) in r.vocabulary(v, p, Agreement.ProductCategory.self) } }, present: o["productCategories"] != nil)
        let source = track(o["sourceCountry"].flatMap { v in country(v, Self.join(path, "sourceCountry"), token: "origin", match: .origin) }, present: o["sourceCountry"] != nil)
        let destination = track(o["destinationCountry"].flatMap { v in country(v, Self.join(path, "destinationCountry"), token: "recipient", match: .recipient) }, present: o["destinationCountry"] != nil)
        let from = track(o["eventTimeFrom"].flatMap { v in timestamp(v, Self.join(path, "eventTimeFrom")) }, present: o["eventTimeFrom"] != nil)
        let before = track(o["eventTimeBefore"].flatMap { v in timestamp(v, Self.join(path, "eventTimeBefore")) }, present: o["eventTimeBefore"] != nil)
        guard ok else { return nil }
        return Agreement.RowFilter(eventTypes: eventTypes, bizSteps: bizSteps, dispositions: dispositions, productCategories: categories,
                                   sourceCountry: source, destinationCountry: destination, eventTimeFrom: from, eventTimeBefore: before)
    }
}
