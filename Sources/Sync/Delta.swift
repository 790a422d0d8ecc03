public import Foundation
public import Model
import Crypto

/// Names a stream: `<origin URN>/<agreement hash>/<flow id>` (docs/sync.md).
public struct StreamName: Sendable, Hashable, CustomStringConvertible {
    public let origin: PartyID
    public let agreementHash: String
    public let flow: String

    public init(origin: PartyID, agreementHash: String, flow: String) {
        self.origin = origin
        self.agreementHash = agreementHash
        self.flow = flow
    }

    /// Parses a stream name, refusing anything but a Party URN, 64 lowercase hex digits and a flow id.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let origin = try? PartyID(urn: String(parts[0])),
              DeltaHeader.isHexDigest(parts[1]), DeltaHeader.isFlowID(parts[2]) else { return nil }
        self.init(origin: origin, agreementHash: String(parts[1]), flow: String(parts[2]))
    }

    public var description: String { "\(origin.urn)/\(agreementHash)/\(flow)" }
}

/// The signed header of a delta (DESIGN §7): everything a receiver checks before the events.
public struct DeltaHeader: Sendable, Equatable {
    public let deltaID: String
    public let origin: PartyID
    public let agreementID: String
    public let agreementVersion: Int
    public let agreementHash: String
    public let flow: String
    public let sequence: Int64
    public let previousDeltaHash: String
    public let recipients: [PartyID]
    public let created: String
    public let eventCount: Int
    public let payloadDigest: String

    public var stream: StreamName { StreamName(origin: origin, agreementHash: agreementHash, flow: flow) }

    public init(deltaID: String, origin: PartyID, agreementID: String, agreementVersion: Int, agreementHash: String, flow: String,
                sequence: Int64, previousDeltaHash: String, recipients: [PartyID], created: String, eventCount: Int, payloadDigest: String) {
        self.deltaID = deltaID
        self.origin = origin
        self.agreementID = agreementID
        self.agreementVersion = agreementVersion
        self.agreementHash = agreementHash
        self.flow = flow
        self.sequence = sequence
        self.previousDeltaHash = previousDeltaHash
        self.recipients = recipients
        self.created = created
        self.eventCount = eventCount
        self.payloadDigest = payloadDigest
    }

    var json: JSONValue {
        .object([
            "deltaID": .string(deltaID), "origin": .string(origin.urn),
            "agreement": .object(["id": .string(agreementID), "version": .number(String(agreementVersion)), "hash": .string(agreementHash)]),
            "flow": .string(flow), "sequence": .number(String(sequence)), "previousDeltaHash": .string(previousDeltaHash),
            "recipients": .array(recipients.map { .string($0.urn) }), "created": .string(created),
            "eventCount": .number(String(eventCount)), "payloadDigest": .string(payloadDigest),
        ])
    }

    static func isHexDigest(_ s: some StringProtocol) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    static func isFlowID(_ s: some StringProtocol) -> Bool {
        !s.isEmpty && s.utf8.count <= 128 && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
        }
    }

    /// Reads a header strictly: every member present with its type, no unknown member.
    init(json value: JSONValue) throws(SyncError) {
        func fail(_ what: String) -> SyncError { SyncError(code: "delta.payload", reason: "delta header: \(what)") }
        guard case .object(let o) = value else { throw fail("must be an object") }
        let known: Set<String> = ["deltaID", "origin", "agreement", "flow", "sequence", "previousDeltaHash", "recipients", "created", "eventCount", "payloadDigest"]
        if let unknown = o.keys.first(where: { !known.contains($0) }) { throw fail("unknown member '\(unknown)'") }
        func string(_ key: String, in object: JSONObject) throws(SyncError) -> String {
            guard case .string(let s)? = object[key], !s.isEmpty else { throw fail("'\(key)' must be a non-empty string") }
            return s
        }
        func integer(_ key: String, in object: JSONObject) throws(SyncError) -> Int64 {
            guard case .number(let text)? = object[key], let n = Int64(text), n >= 0 else { throw fail("'\(key)' must be a non-negative integer") }
            return n
        }
        deltaID = try string("deltaID", in: o)
        guard let origin = try? PartyID(urn: try string("origin", in: o)) else { throw fail("'origin' is not a Party URN") }
        self.origin = origin
        guard case .object(let agreement)? = o["agreement"] else { throw fail("'agreement' must be an object") }
        agreementID = try string("id", in: agreement)
        agreementVersion = Int(try integer("version", in: agreement))
        agreementHash = try string("hash", in: agreement)
        guard Self.isHexDigest(agreementHash) else { throw fail("'agreement.hash' must be 64 lowercase hex digits") }
        flow = try string("flow", in: o)
        guard Self.isFlowID(flow) else { throw fail("'flow' is not a flow id") }
        sequence = try integer("sequence", in: o)
        guard sequence >= 1 else { throw fail("'sequence' must be at least 1") }
        previousDeltaHash = try string("previousDeltaHash", in: o)
        guard Self.isHexDigest(previousDeltaHash) else { throw fail("'previousDeltaHash' must be 64 lowercase hex digits") }
        guard case .array(let list)? = o["recipients"], !list.isEmpty else { throw fail("'recipients' must be a non-empty array") }
        var recipients: [PartyID] = []
        for item in list {
            guard case .string(let s) = item, let party = try? PartyID(urn: s) else { throw fail("'recipients' must hold Party URNs") }
            recipients.append(party)
        }
        self.recipients = recipients
        created = try string("created", in: o)
        eventCount = Int(try integer("eventCount", in: o))
        payloadDigest = try string("payloadDigest", in: o)
        guard Self.isHexDigest(payloadDigest) else { throw fail("'payloadDigest' must be 64 lowercase hex digits") }
    }
}

/// One event in a delta payload: the origin's hash ID and the redacted event.
public struct DeltaEvent: Sendable {
    public let hashID: String
    public let declaresError: Bool
    /// Index into the payload's `contexts`, when the event's document had an `@context`.
    public let context: Int?
    public let event: JSONObject
}

/// The signed content of a delta: `{"header":…,"payload":…}` written in exactly this
/// framing, so the payload digest is the SHA-256 of the bytes between `"payload":` and the
/// final `}` (checkable with standard tools after `openssl cms -verify`).
///
/// Payload: `{"contexts":[…],"events":[{"eventHashID":…,"declaresError":…,"context":n,"event":{…}}]}`.
public enum DeltaContent {
    /// Writes the payload for `events` whose documents had the given `@context` bodies.
    public static func payload(events: [DeltaEvent], contexts: [JSONValue]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(events.count * 900 + 64)
        out += Array(#"{"contexts":"#.utf8)
        JSONWriter.write(.array(contexts), into: &out)
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

    /// `{"header":H,"payload":P}`.
    public static func content(header: DeltaHeader, payload: [UInt8]) -> [UInt8] {
        var out = Array(#"{"header":"#.utf8)
        JSONWriter.write(header.json, into: &out)
        out += Array(#","payload":"#.utf8)
        out += payload
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// JSON limits for delta content: events nest a few levels below the payload.
    static let limits: JSONParser.Limits = {
        var limits = JSONParser.Limits()
        limits.maxDepth = 72
        limits.duplicateKeys = .reject
        return limits
    }()

    /// Parses signed content: the header, the exact payload bytes' digest, the contexts and events.
    public static func parse(_ content: [UInt8]) throws(SyncError) -> (header: DeltaHeader, payloadDigest: String, contexts: [JSONValue], events: [DeltaEvent]) {
        func fail(_ what: String) -> SyncError { SyncError(code: "delta.payload", reason: what) }
        let root: JSONValue
        do { root = try JSONParser.parse(content, limits: limits) } catch { throw fail("delta content is not JSON: \(error.description)") }
        guard case .object(let top) = root, top.keys == ["header", "payload"], let headerValue = top["header"],
              case .object(let payload)? = top["payload"], let range = payload.sourceRange else {
            throw fail("delta content must be {\"header\":…,\"payload\":{…}}")
        }
        let header = try DeltaHeader(json: headerValue)
        // The framing is fixed: the payload object ends one byte before the content does.
        guard range.upperBound == content.count - 1 else { throw fail("delta content has bytes after the payload") }
        let digest = SHA256.hexHash(content[range])
        guard Set(payload.keys) == ["contexts", "events"], payload.keys.count == 2,
              case .array(let contextValues)? = payload["contexts"], case .array(let entries)? = payload["events"] else {
            throw fail("payload must be {\"contexts\":[…],\"events\":[…]}")
        }
        var events: [DeltaEvent] = []
        events.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            guard case .object(let e) = entry, case .string(let hashID)? = e["eventHashID"], hashID.hasPrefix("ni:///sha-256;"),
                  case .bool(let declaresError)? = e["declaresError"], case .object(let event)? = e["event"] else {
                throw fail("payload event \(index): needs eventHashID (ni:///sha-256;…), declaresError and event")
            }
            var context: Int?
            if let value = e["context"] {
                guard case .number(let text) = value, let n = Int(text), contextValues.indices.contains(n) else {
                    throw fail("payload event \(index): 'context' must index the payload's contexts")
                }
                context = n
            }
            if let extra = e.keys.first(where: { !["eventHashID", "declaresError", "context", "event"].contains($0) }) {
                throw fail("payload event \(index): unknown member '\(extra)'")
            }
            events.append(DeltaEvent(hashID: hashID, declaresError: declaresError, context: context, event: event))
        }
        return (header, digest, contextValues, events)
    }
}

/// The routing header a sealed delta travels with (HTTP headers, visible to the hub).
public struct DeltaRouting: Sendable, Equatable {
    public let deltaID: String
    public let origin: String
    public let recipients: [String]
    public let stream: String
    public let sequence: Int64

    public init(deltaID: String, origin: String, recipients: [String], stream: String, sequence: Int64) {
        self.deltaID = deltaID
        self.origin = origin
        self.recipients = recipients
        self.stream = stream
        self.sequence = sequence
    }

    public static let headerNames = (deltaID: "Fedtrace-Delta-ID", origin: "Fedtrace-Origin", recipients: "Fedtrace-Recipients",
                                     stream: "Fedtrace-Stream", sequence: "Fedtrace-Sequence")

    /// The header fields, in order.
    public var fields: [(String, String)] {
        [(Self.headerNames.deltaID, deltaID), (Self.headerNames.origin, origin), (Self.headerNames.recipients, recipients.joined(separator: " ")),
         (Self.headerNames.stream, stream), (Self.headerNames.sequence, String(sequence))]
    }

    /// Reads the routing header from a lookup of header values (first value of each name).
    public init(lookup: (String) -> String?) throws(SyncError) {
        func field(_ name: String) throws(SyncError) -> String {
            guard let value = lookup(name), !value.isEmpty, value.utf8.count <= 1024 else {
                throw SyncError(code: "delta.routing", reason: "missing or oversized routing header \(name)")
            }
            return value
        }
        deltaID = try field(Self.headerNames.deltaID)
        origin = try field(Self.headerNames.origin)
        recipients = try field(Self.headerNames.recipients).split(separator: " ").map(String.init)
        stream = try field(Self.headerNames.stream)
        guard let sequence = Int64(try field(Self.headerNames.sequence)), sequence >= 1 else {
            throw SyncError(code: "delta.routing", reason: "\(Self.headerNames.sequence) must be a positive integer")
        }
        self.sequence = sequence
        guard StreamName(stream) != nil else { throw SyncError(code: "delta.routing", reason: "\(Self.headerNames.stream) is not <origin URN>/<agreement hash>/<flow>") }
    }
}

/// A new `urn:uuid:` (version 4) from the system's secure random source.
func makeUUIDURN() -> String {
    var bytes = (try? SecureRandom.bytes(16)) ?? Array(UUID().uuidString.utf8.prefix(16))
    bytes[6] = (bytes[6] & 0x0F) | 0x40
    bytes[8] = (bytes[8] & 0x3F) | 0x80
    let h = hex(bytes)
    let parts = [h.prefix(8), h.dropFirst(8).prefix(4), h.dropFirst(12).prefix(4), h.dropFirst(16).prefix(4), h.dropFirst(20)]
    return "urn:uuid:" + parts.joined(separator: "-")
}

/// ISO 8601 UTC with milliseconds.
func isoTime(_ date: Date) -> String {
    Timestamp(epochMilliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down))).canonicalUTC
}
