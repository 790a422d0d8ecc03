import Foundation
import Model

/// The role a node plays in the federation.
public enum NodeRole: String, Sendable, Codable, CaseIterable {
    /// A Party's own node: captures, stores and exchanges its data.
    case party
    /// The interim global information-sharing focal point: relays sealed envelopes and
    /// the directory, never holds event data in clear.
    case hub
}

/// A node's configuration, stored as `node.json` in its data directory.
///
/// Parsed strictly: an unknown key is an error (a misspelt setting must not be ignored).
public struct NodeConfiguration: Sendable, Equatable {
    public var party: PartyID
    public var role: NodeRole
    /// Local API listener (loopback by default).
    public var apiListen: String
    /// Federation listener (mutual TLS).
    public var federationListen: String
    /// Largest EPCIS document accepted by capture, in bytes (also the local API's body limit).
    public var maxDocumentBytes: Int
    /// PEM file of the operator CA: when set, the local API uses mutual TLS (server
    /// certificate from the node's `certs/transport.pem`) and admits only clients whose
    /// certificates chain to it. Relative paths are relative to the data directory.
    public var apiClientCA: String?
    /// File (mode 0600) holding a bearer token: when set, every local API request needs
    /// `Authorization: Bearer <token>`. Relative paths are relative to the data directory.
    public var apiTokenFile: String?

    public static let defaultAPIListen = "127.0.0.1:8443"
    public static let defaultFederationListen = "0.0.0.0:9443"
    public static let defaultMaxDocumentBytes = 256 << 20

    public init(party: PartyID, role: NodeRole, apiListen: String = defaultAPIListen,
                federationListen: String = defaultFederationListen, maxDocumentBytes: Int = defaultMaxDocumentBytes,
                apiClientCA: String? = nil, apiTokenFile: String? = nil) {
        self.party = party
        self.role = role
        self.apiListen = apiListen
        self.federationListen = federationListen
        self.maxDocumentBytes = maxDocumentBytes
        self.apiClientCA = apiClientCA
        self.apiTokenFile = apiTokenFile
    }

    static let keys: Set<String> = ["party", "role", "apiListen", "federationListen", "maxDocumentBytes", "apiClientCA", "apiTokenFile"]

    /// Parses `node.json`; `file` names it in errors.
    public init(json bytes: [UInt8], file: String) throws(NodeError) {
        func fail(_ reason: String) -> NodeError { NodeError(code: "config.invalid", reason: "\(file): \(reason)") }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw fail(error.description) }
        guard case .object(let object) = value else { throw fail("must be a JSON object") }
        if let unknown = object.keys.first(where: { !Self.keys.contains($0) }) { throw fail("unknown setting '\(unknown)'") }
        func string(_ key: String) throws(NodeError) -> String? {
            guard let v = object[key] else { return nil }
            guard case .string(let s) = v else { throw fail("'\(key)' must be a string") }
            return s
        }
        guard let partyText = try string("party") else { throw fail("'party' is required") }
        do { party = try PartyID(urn: partyText) } catch { throw fail(error.reason) }
        guard let roleText = try string("role"), let role = NodeRole(rawValue: roleText) else { throw fail("'role' must be \"party\" or \"hub\"") }
        self.role = role
        apiListen = try string("apiListen") ?? Self.defaultAPIListen
        federationListen = try string("federationListen") ?? Self.defaultFederationListen
        for address in [apiListen, federationListen] {
            guard ListenAddress(address) != nil else { throw fail("'\(address)' is not HOST:PORT") }
        }
        if let limit = object["maxDocumentBytes"] {
            guard case .number(let text) = limit, let n = Int(text), n > 0 else { throw fail("'maxDocumentBytes' must be a positive integer") }
            maxDocumentBytes = n
        } else {
            maxDocumentBytes = Self.defaultMaxDocumentBytes
        }
        apiClientCA = try string("apiClientCA")
        apiTokenFile = try string("apiTokenFile")
        for (key, value) in [("apiClientCA", apiClientCA), ("apiTokenFile", apiTokenFile)] where value?.isEmpty == true {
            throw fail("'\(key)' must name a file")
        }
        if let address = ListenAddress(apiListen), !address.isLoopback, apiClientCA == nil, apiTokenFile == nil {
            throw fail("apiListen '\(apiListen)' is not a loopback address: set 'apiClientCA' (operator mutual TLS) or 'apiTokenFile' (bearer token), or listen on 127.0.0.1")
        }
        if role == .hub && party.kind != .hub { throw fail("a hub's identity must be urn:fctc:hub:NAME") }
        if role == .party && party.kind != .party { throw fail("a Party node's identity must be urn:fctc:party:XX") }
    }

    /// The `node.json` text.
    public var json: [UInt8] {
        var object: JSONObject = [
            "party": .string(party.urn), "role": .string(role.rawValue),
            "apiListen": .string(apiListen), "federationListen": .string(federationListen),
        ]
        object["maxDocumentBytes"] = .number(String(maxDocumentBytes))
        if let apiClientCA { object["apiClientCA"] = .string(apiClientCA) }
        if let apiTokenFile { object["apiTokenFile"] = .string(apiTokenFile) }
        return JSONWriter.serialize(.object(object)) + [0x0A]
    }
}

/// A `HOST:PORT` listen address.
public struct ListenAddress: Sendable, Equatable {
    public let host: String
    public let port: UInt16

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty, let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        self.host = host
        self.port = port
    }

    /// Whether the host is a loopback address (127.0.0.0/8, ::1, localhost).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}
