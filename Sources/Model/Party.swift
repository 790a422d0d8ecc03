/// A Party to the Protocol, or the hub, identified by its federation URN.
///
/// Parties are `urn:fctc:party:<ISO 3166-1 alpha-2>`; the interim global
/// information-sharing focal point is `urn:fctc:hub:<name>`. The same URN appears in
/// certificates (SAN URI), deltas, agreements and the directory, so it is parsed strictly.
public struct PartyID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    /// Whether this is a national Party or the hub peer.
    public enum Kind: String, Sendable, Codable { case party, hub }

    public let kind: Kind
    /// The ISO 3166-1 alpha-2 code (upper case) for a Party, or the hub's name.
    public let code: String

    /// A Party from its two-letter country code (`KZ`, `ua` → `UA`).
    public init(country: String) throws(ModelError) {
        let upper = country.uppercased()
        guard upper.utf8.count == 2, upper.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            throw ModelError(code: "party.invalid", reason: "'\(country)' is not an ISO 3166-1 alpha-2 country code")
        }
        self.kind = .party
        self.code = upper
    }

    /// The hub peer with a given name (lower-case letters, digits and hyphens).
    public init(hub name: String) throws(ModelError) {
        let allowed = name.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") }
        guard !name.isEmpty, name.utf8.count <= 63, allowed else {
            throw ModelError(code: "party.invalid", reason: "'\(name)' is not a valid hub name (a-z, 0-9, '-', at most 63)")
        }
        self.kind = .hub
        self.code = name
    }

    /// Parses `urn:fctc:party:XX` or `urn:fctc:hub:name`.
    public init(urn: String) throws(ModelError) {
        if urn.hasPrefix("urn:fctc:party:") {
            try self.init(country: String(urn.dropFirst("urn:fctc:party:".count)))
            guard self.urn == urn else {
                throw ModelError(code: "party.invalid", reason: "'\(urn)' must use an upper-case country code")
            }
        } else if urn.hasPrefix("urn:fctc:hub:") {
            try self.init(hub: String(urn.dropFirst("urn:fctc:hub:".count)))
        } else {
            throw ModelError(code: "party.invalid", reason: "'\(urn)' is not a federation identity (urn:fctc:party:XX or urn:fctc:hub:NAME)")
        }
    }

    /// The URN form used in certificates and documents.
    public var urn: String { kind == .party ? "urn:fctc:party:\(code)" : "urn:fctc:hub:\(code)" }

    public var description: String { urn }

    public static func < (lhs: PartyID, rhs: PartyID) -> Bool { lhs.urn < rhs.urn }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(urn: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(urn)
    }
}
