public import Foundation
public import Crypto
public import Model

/// Enquiries and their answers (DESIGN §10, docs/hub.md §3): JSON signed by the sender
/// (CMS SignedData, attached), sealed to the one recipient (CMS AuthEnvelopedData), exactly
/// as deltas are. This file holds the message formats, their strict parsers, the routing
/// header they travel with, and the open-and-verify step; the Node layer decides and stores.

/// Which of the two messages an envelope carries (`Fedtrace-Kind`).
public enum EnquiryMessageKind: String, Sendable, CaseIterable {
    case enquiry
    case answer

    /// The prefix of this kind's refusal codes: `enquiry.*` or `answer.*`.
    public var codePrefix: String { rawValue }
}

/// An officer's request for the trace of one or more UIMs (Art. 8.9), signed by the requester.
///
/// `{"enquiryID","requester","responder","agreement","uims","purpose","caseReference","sent"}`.
public struct Enquiry: Sendable, Equatable {
    /// Bounds a responder enforces on what it reads (and a requester on what it sends).
    public static let maxUIMs = 1000
    public static let maxUIMBytes = 512
    public static let maxCaseReferenceBytes = 256

    public let enquiryID: String
    public let requester: PartyID
    public let responder: PartyID
    /// The hash of the agreement the enquiry is made under.
    public let agreement: String
    /// The UIMs asked about, in canonical index form (GS1 Digital Link where possible).
    public let uims: [String]
    public let purpose: String
    public let caseReference: String
    public let sent: String

    public init(enquiryID: String, requester: PartyID, responder: PartyID, agreement: String, uims: [String], purpose: String,
                caseReference: String, sent: String) {
        self.enquiryID = enquiryID
        self.requester = requester
        self.responder = responder
        self.agreement = agreement
        self.uims = uims
        self.purpose = purpose
        self.caseReference = caseReference
        self.sent = sent
    }

    /// A new enquiry with a fresh `urn:uuid:` ID, sent now.
    public static func make(requester: PartyID, responder: PartyID, agreement: String, uims: [String], purpose: String,
                            caseReference: String, now: Date = Date()) -> Enquiry {
        Enquiry(enquiryID: makeUUIDURN(), requester: requester, responder: responder, agreement: agreement, uims: uims,
                purpose: purpose, caseReference: caseReference, sent: isoTime(now))
    }

    /// The signed content: one JSON object in a fixed member order.
    public var content: [UInt8] {
        JSONWriter.serialize(.object([
            "enquiryID": .string(enquiryID), "requester": .string(requester.urn), "responder": .string(responder.urn),
            "agreement": .string(agreement), "uims": .array(uims.map(JSONValue.string)), "purpose": .string(purpose),
            "caseReference": .string(caseReference), "sent": .string(sent),
        ]))
    }

    /// Whether `text` can be a UIM in an enquiry: a URI (scheme ':' …) of at most
    /// `maxUIMBytes`, without spaces or control characters.
    public static func isPlausibleUIM(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= maxUIMBytes, let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return false }
        guard text[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else { return false }
        return text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) && !$0.properties.isWhitespace }
    }

    /// Reads signed content strictly: every member present with its type, nothing else.
    public init(content bytes: [UInt8]) throws(SyncError) {
        func fail(_ what: String) -> SyncError { SyncError(code: "enquiry.form", reason: "enquiry: \(what)") }
        let o = try EnquiryJSON.object(bytes, fail: fail)
        try EnquiryJSON.exactly(o, ["enquiryID", "requester", "responder", "agreement", "uims", "purpose", "caseReference", "sent"], fail: fail)
        enquiryID = try EnquiryJSON.string("enquiryID", o, fail: fail)
        guard EnquiryJSON.isUUIDURN(enquiryID) else { throw fail("'enquiryID' must be a urn:uuid:") }
        requester = try EnquiryJSON.party("requester", o, fail: fail)
        responder = try EnquiryJSON.party("responder", o, fail: fail)
        agreement = try EnquiryJSON.string("agreement", o, fail: fail)
        guard DeltaHeader.isHexDigest(agreement) else { throw fail("'agreement' must be 64 lowercase hex digits") }
        guard case .array(let list)? = o["uims"], !list.isEmpty, list.count <= Self.maxUIMs else {
            throw fail("'uims' must be an array of 1 to \(Self.maxUIMs) identifiers")
        }
        var uims: [String] = []
        for item in list {
            guard case .string(let uim) = item, Self.isPlausibleUIM(uim) else { throw fail("'uims' must hold identifiers (URIs of at most \(Self.maxUIMBytes) bytes)") }
            uims.append(uim)
        }
        guard Set(uims).count == uims.count else { throw fail("'uims' names an identifier twice") }
        self.uims = uims
        purpose = try EnquiryJSON.string("purpose", o, fail: fail)
        guard purpose.utf8.count <= 64 else { throw fail("'purpose' is too long") }
        guard case .string(let reference)? = o["caseReference"], !reference.isEmpty, reference.utf8.count <= Self.maxCaseReferenceBytes else {
            throw fail("'caseReference' must be a string of 1 to \(Self.maxCaseReferenceBytes) bytes")
        }
        caseReference = reference
        sent = try EnquiryJSON.string("sent", o, fail: fail)
        guard Timestamp.parse(sent) != nil else { throw fail("'sent' must be an RFC 3339 instant") }
    }
}

/// One event of an answer: the origin's hash ID and the event as the answer flow lets the
/// requester see it.
public struct AnswerEvent: Sendable, Equatable {
    public let hashID: String
    public let declaresError: Bool
    /// Index into the answer's `contexts`, when the event's document had an `@context`.
    public let context: Int?
    public let event: JSONObject

    public init(hashID: String, declaresError: Bool, context: Int?, event: JSONObject) {
        self.hashID = hashID
        self.declaresError = declaresError
        self.context = context
        self.event = event
    }
}

/// The responder's answer, signed by the responder:
/// `{"enquiryID","responder","requester","agreement","flow","status","code","reason","answered","contexts","events"}`.
/// `status` is `answered` (with the redacted trace; a `reason` then says why the answer is
/// partial, e.g. cut at the responder's event limit) or `refused` (with `code` and `reason`,
/// no events).
public struct EnquiryAnswer: Sendable, Equatable {
    public enum Status: String, Sendable {
        case answered
        case refused
    }

    public let enquiryID: String
    public let responder: PartyID
    public let requester: PartyID
    public let agreement: String
    /// The answerEnquiry flow that redacted the events (nil when refused before one was found).
    public let flow: String?
    public let status: Status
    /// The stable code of a refusal (`enquiry.purpose`, `enquiry.officer`, …).
    public let code: String?
    public let reason: String?
    public let answered: String
    /// `@context` bodies of the events' documents, each once.
    public let contexts: [JSONValue]
    public let events: [AnswerEvent]

    public init(enquiryID: String, responder: PartyID, requester: PartyID, agreement: String, flow: String?, status: Status,
                code: String?, reason: String?, answered: String, contexts: [JSONValue], events: [AnswerEvent]) {
        self.enquiryID = enquiryID
        self.responder = responder
        self.requester = requester
        self.agreement = agreement
        self.flow = flow
        self.status = status
        self.code = code
        self.reason = reason
        self.answered = answered
        self.contexts = contexts
        self.events = events
    }

    /// A refusal of `enquiry`, made now.
    public static func refusal(of enquiry: Enquiry, flow: String?, code: String, reason: String, now: Date = Date()) -> EnquiryAnswer {
        EnquiryAnswer(enquiryID: enquiry.enquiryID, responder: enquiry.responder, requester: enquiry.requester, agreement: enquiry.agreement,
                      flow: flow, status: .refused, code: code, reason: reason, answered: isoTime(now), contexts: [], events: [])
    }

    /// The signed content in a fixed member order.
    public var content: [UInt8] {
        var out = Array(#"{"enquiryID":"#.utf8)
        JSONWriter.writeString(enquiryID, into: &out)
        func member(_ name: String, _ value: JSONValue) {
            out += Array(",\"\(name)\":".utf8)
            JSONWriter.write(value, into: &out)
        }
        member("responder", .string(responder.urn))
        member("requester", .string(requester.urn))
        member("agreement", .string(agreement))
        member("flow", flow.map(JSONValue.string) ?? .null)
        member("status", .string(status.rawValue))
        member("code", code.map(JSONValue.string) ?? .null)
        member("reason", reason.map(JSONValue.string) ?? .null)
        member("answered", .string(answered))
        member("contexts", .array(contexts))
        out += Array(#","events":["#.utf8)
        for (index, event) in events.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += Array(#"{"eventHashID":"#.utf8)
            JSONWriter.writeString(event.hashID, into: &out)
            out += Array((event.declaresError ? #","declaresError":true"# : #","declaresError":false"#).utf8)
            if let context = event.context { out += Array(#","context":\#(context)"#.utf8) }
            out += Array(#","event":"#.utf8)
            JSONWriter.write(.object(event.event), into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out += Array("]}".utf8)
        return out
    }

    /// Reads signed content strictly.
    public init(content bytes: [UInt8]) throws(SyncError) {
        func fail(_ what: String) -> SyncError { SyncError(code: "answer.form", reason: "answer: \(what)") }
        let o = try EnquiryJSON.object(bytes, fail: fail)
        try EnquiryJSON.exactly(o, ["enquiryID", "responder", "requester", "agreement", "flow", "status", "code", "reason", "answered", "contexts", "events"], fail: fail)
        enquiryID = try EnquiryJSON.string("enquiryID", o, fail: fail)
        guard EnquiryJSON.isUUIDURN(enquiryID) else { throw fail("'enquiryID' must be a urn:uuid:") }
        responder = try EnquiryJSON.party("responder", o, fail: fail)
        requester = try EnquiryJSON.party("requester", o, fail: fail)
        agreement = try EnquiryJSON.string("agreement", o, fail: fail)
        guard DeltaHeader.isHexDigest(agreement) else { throw fail("'agreement' must be 64 lowercase hex digits") }
        flow = try EnquiryJSON.optionalString("flow", o, fail: fail)
        if let flow, !DeltaHeader.isFlowID(flow) { throw fail("'flow' is not a flow id") }
        guard let status = Status(rawValue: try EnquiryJSON.string("status", o, fail: fail)) else { throw fail("'status' must be answered or refused") }
        self.status = status
        code = try EnquiryJSON.optionalString("code", o, fail: fail)
        reason = try EnquiryJSON.optionalString("reason", o, fail: fail)
        answered = try EnquiryJSON.string("answered", o, fail: fail)
        guard Timestamp.parse(answered) != nil else { throw fail("'answered' must be an RFC 3339 instant") }
        guard case .array(let contexts)? = o["contexts"], case .array(let entries)? = o["events"] else {
            throw fail("'contexts' and 'events' must be arrays")
        }
        self.contexts = contexts
        var events: [AnswerEvent] = []
        events.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            guard case .object(let e) = entry, case .string(let hashID)? = e["eventHashID"], hashID.hasPrefix("ni:///sha-256;"),
                  case .bool(let declaresError)? = e["declaresError"], case .object(let event)? = e["event"] else {
                throw fail("event \(index): needs eventHashID (ni:///sha-256;…), declaresError and event")
            }
            if let extra = e.keys.first(where: { !["eventHashID", "declaresError", "context", "event"].contains($0) }) {
                throw fail("event \(index): unknown member '\(extra)'")
            }
            var context: Int?
            if let value = e["context"] {
                guard case .number(let text) = value, let n = Int(text), contexts.indices.contains(n) else {
                    throw fail("event \(index): 'context' must index the answer's contexts")
                }
                context = n
            }
            events.append(AnswerEvent(hashID: hashID, declaresError: declaresError, context: context, event: event))
        }
        self.events = events
        switch status {
        case .answered:
            guard flow != nil, code == nil else { throw fail("an answered answer names its flow and no refusal code") }
        case .refused:
            guard code != nil, reason != nil, events.isEmpty else { throw fail("a refusal carries a code and a reason and no events") }
        }
    }
}

/// The routing header an enquiry or answer travels with, visible to the hub (docs/hub.md §1):
/// `Fedtrace-Kind`, `Fedtrace-Message-ID` (the enquiry ID, for both kinds), `Fedtrace-Origin`,
/// `Fedtrace-Recipients` (exactly one Party), `Fedtrace-Agreement`.
public struct EnquiryRouting: Sendable, Equatable {
    public let kind: EnquiryMessageKind
    public let messageID: String
    public let origin: String
    public let recipient: String
    public let agreement: String

    public init(kind: EnquiryMessageKind, messageID: String, origin: String, recipient: String, agreement: String) {
        self.kind = kind
        self.messageID = messageID
        self.origin = origin
        self.recipient = recipient
        self.agreement = agreement
    }

    public static let headerNames = (kind: "Fedtrace-Kind", messageID: "Fedtrace-Message-ID", origin: "Fedtrace-Origin",
                                     recipients: "Fedtrace-Recipients", agreement: "Fedtrace-Agreement")

    /// The header fields, in order.
    public var fields: [(String, String)] {
        [(Self.headerNames.kind, kind.rawValue), (Self.headerNames.messageID, messageID), (Self.headerNames.origin, origin),
         (Self.headerNames.recipients, recipient), (Self.headerNames.agreement, agreement)]
    }

    /// Reads the routing header for a message of `expected` kind; `<kind>.routing` on any
    /// missing, oversized or malformed field.
    public init(expected: EnquiryMessageKind, lookup: (String) -> String?) throws(SyncError) {
        func fail(_ reason: String) -> SyncError { SyncError(code: "\(expected.codePrefix).routing", reason: reason) }
        func field(_ name: String) throws(SyncError) -> String {
            guard let value = lookup(name), !value.isEmpty, value.utf8.count <= 256 else { throw fail("missing or oversized routing header \(name)") }
            return value
        }
        guard let kind = EnquiryMessageKind(rawValue: try field(Self.headerNames.kind)), kind == expected else {
            throw fail("\(Self.headerNames.kind) must be \(expected.rawValue)")
        }
        self.kind = kind
        messageID = try field(Self.headerNames.messageID)
        guard EnquiryJSON.isUUIDURN(messageID) else { throw fail("\(Self.headerNames.messageID) must be a urn:uuid:") }
        origin = try field(Self.headerNames.origin)
        guard (try? PartyID(urn: origin)) != nil else { throw fail("\(Self.headerNames.origin) is not a Party URN") }
        recipient = try field(Self.headerNames.recipients)
        guard (try? PartyID(urn: recipient)) != nil else { throw fail("\(Self.headerNames.recipients) must name exactly one Party URN") }
        agreement = try field(Self.headerNames.agreement)
        guard DeltaHeader.isHexDigest(agreement) else { throw fail("\(Self.headerNames.agreement) must be 64 lowercase hex digits") }
    }
}

/// What opening and verifying a sealed enquiry or answer proves.
public struct OpenedMessage<Message: Sendable>: Sendable {
    public let message: Message
    /// The signed object (CMS SignedData, DER): what is stored and exported as evidence.
    public let signed: [UInt8]
    /// SHA-256 (hex) of `signed`.
    public let digest: String
    public let signingTime: Date

    public init(message: Message, signed: [UInt8], digest: String, signingTime: Date) {
        self.message = message
        self.signed = signed
        self.digest = digest
        self.signingTime = signingTime
    }
}

/// Signing, sealing, opening and verifying enquiries and answers.
public enum EnquiryCodec {
    /// Signs content with the node's signing key (CMS SignedData, DER).
    public static func sign(_ content: [UInt8], identity: PartyCertificateFolder) throws -> [UInt8] {
        try CMS.sign(content, signer: identity.signingCertificate, key: identity.signingKey)
    }

    /// Seals a signed object to the recipient's sealing certificate (checked against the root).
    public static func seal(_ signed: [UInt8], to recipient: Certificate, identity: PartyCertificateFolder, now: Date = Date()) throws -> [UInt8] {
        try CMS.seal(signed, to: [recipient], trust: identity.trust, at: now)
    }

    /// Opens a sealed object addressed to this node and verifies the signature inside: the
    /// signer must be `origin` and its certificate chain to the root (at the signing time, CRL).
    /// Codes: `<kind>.seal`, `<kind>.signature`.
    public static func openAndVerify(_ sealed: [UInt8], kind: EnquiryMessageKind, origin: String, identity: PartyCertificateFolder,
                                     now: Date = Date()) throws(SyncError) -> (signed: [UInt8], verified: VerifiedSignedData) {
        let signed: [UInt8]
        do {
            signed = try CMS.open(sealed, certificate: identity.sealingCertificate, key: identity.sealingKey)
        } catch {
            throw SyncError(code: "\(kind.codePrefix).seal", reason: "cannot open the \(kind.rawValue): \((error as? CryptoError)?.reason ?? "not CMS AuthEnvelopedData for us")")
        }
        return (signed, try verify(signed, kind: kind, origin: origin, trust: identity.trust, now: now))
    }

    /// Verifies a signed enquiry or answer: signer = `origin`.
    public static func verify(_ signed: [UInt8], kind: EnquiryMessageKind, origin: String, trust: TrustStore, now: Date = Date()) throws(SyncError) -> VerifiedSignedData {
        do {
            return try CMS.verify(signed, trust: trust, expectedSigner: origin, now: now)
        } catch {
            throw SyncError(code: "\(kind.codePrefix).signature", reason: "the \(kind.rawValue)'s signature does not verify for \(origin): \((error as? CryptoError)?.reason ?? "\(error)")")
        }
    }

    /// Opens and verifies a sealed enquiry and checks it against its routing header and the
    /// receiver: signer = requester = `origin`, responder = `us`, agreement and ID as routed.
    public static func openEnquiry(_ sealed: [UInt8], routing: EnquiryRouting, us: PartyID, identity: PartyCertificateFolder,
                                   now: Date = Date()) throws(SyncError) -> OpenedMessage<Enquiry> {
        let (signed, verified) = try openAndVerify(sealed, kind: .enquiry, origin: routing.origin, identity: identity, now: now)
        let enquiry = try Enquiry(content: verified.content)
        var mismatches: [String] = []
        if enquiry.enquiryID != routing.messageID { mismatches.append("enquiryID") }
        if enquiry.requester.urn != routing.origin { mismatches.append("requester") }
        if enquiry.responder.urn != routing.recipient { mismatches.append("responder") }
        if enquiry.agreement != routing.agreement { mismatches.append("agreement") }
        guard mismatches.isEmpty else {
            throw SyncError(code: "enquiry.header-mismatch", reason: "the signed enquiry disagrees with the routing header on \(mismatches.joined(separator: ", "))")
        }
        guard enquiry.responder == us else {
            throw SyncError(code: "enquiry.responder", reason: "the enquiry is addressed to \(enquiry.responder.urn), not \(us.urn)")
        }
        return OpenedMessage(message: enquiry, signed: signed, digest: SHA256.hexHash(signed), signingTime: verified.signingTime)
    }

    /// Opens and verifies a sealed answer: signer = responder = `origin`, requester = `us`.
    public static func openAnswer(_ sealed: [UInt8], routing: EnquiryRouting, us: PartyID, identity: PartyCertificateFolder,
                                  now: Date = Date()) throws(SyncError) -> OpenedMessage<EnquiryAnswer> {
        let (signed, verified) = try openAndVerify(sealed, kind: .answer, origin: routing.origin, identity: identity, now: now)
        let answer = try EnquiryAnswer(content: verified.content)
        var mismatches: [String] = []
        if answer.enquiryID != routing.messageID { mismatches.append("enquiryID") }
        if answer.responder.urn != routing.origin { mismatches.append("responder") }
        if answer.requester.urn != routing.recipient { mismatches.append("requester") }
        if answer.agreement != routing.agreement { mismatches.append("agreement") }
        guard mismatches.isEmpty else {
            throw SyncError(code: "answer.header-mismatch", reason: "the signed answer disagrees with the routing header on \(mismatches.joined(separator: ", "))")
        }
        guard answer.requester == us else {
            throw SyncError(code: "answer.requester", reason: "the answer is addressed to \(answer.requester.urn), not \(us.urn)")
        }
        return OpenedMessage(message: answer, signed: signed, digest: SHA256.hexHash(signed), signingTime: verified.signingTime)
    }
}

/// Strict JSON helpers shared by the two message parsers.
enum EnquiryJSON {
    static let limits: JSONParser.Limits = {
        var limits = JSONParser.Limits()
        limits.maxDepth = 72
        limits.duplicateKeys = .reject
        return limits
    }()

    static func object(_ bytes: [UInt8], fail: (String) -> SyncError) throws(SyncError) -> JSONObject {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes, limits: limits) } catch { throw fail("not JSON: \(error.description)") }
        guard case .object(let o) = value else { throw fail("must be a JSON object") }
        return o
    }

    static func exactly(_ o: JSONObject, _ names: [String], fail: (String) -> SyncError) throws(SyncError) {
        if let unknown = o.keys.first(where: { !names.contains($0) }) { throw fail("unknown member '\(unknown)'") }
        if let missing = names.first(where: { o[$0] == nil }) { throw fail("missing member '\(missing)'") }
    }

    static func string(_ key: String, _ o: JSONObject, fail: (String) -> SyncError) throws(SyncError) -> String {
        guard case .string(let s)? = o[key], !s.isEmpty, s.utf8.count <= 4096 else { throw fail("'\(key)' must be a non-empty string") }
        return s
    }

    static func optionalString(_ key: String, _ o: JSONObject, fail: (String) -> SyncError) throws(SyncError) -> String? {
        switch o[key] {
        case .null?: return nil
        case .string(let s)? where !s.isEmpty && s.utf8.count <= 4096: return s
        default: throw fail("'\(key)' must be a non-empty string or null")
        }
    }

    static func party(_ key: String, _ o: JSONObject, fail: (String) -> SyncError) throws(SyncError) -> PartyID {
        let text = try string(key, o, fail: fail)
        guard let party = try? PartyID(urn: text), party.urn.hasPrefix("urn:fctc:party:") else { throw fail("'\(key)' is not a Party URN") }
        return party
    }

    static func isUUIDURN(_ text: String) -> Bool {
        guard text.hasPrefix("urn:uuid:"), text.utf8.count == 45 else { return false }
        let body = Array(text.utf8.dropFirst(9))
        for (i, b) in body.enumerated() {
            if [8, 13, 18, 23].contains(i) { guard b == 0x2D else { return false }; continue }
            guard (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46) else { return false }
        }
        return true
    }
}
