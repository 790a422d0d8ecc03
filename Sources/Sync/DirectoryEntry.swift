public import Foundation
public import Core
public import Crypto
public import Model

/// Why a directory entry was refused or ignored (docs/hub.md §2). `code` is stable:
///
/// | code | meaning |
/// |---|---|
/// | `directory.too-large` | the signed entry is over `Directory.maxSignedBytes` |
/// | `directory.signature` | not CMS SignedData, or its signature does not verify (altered, truncated, garbage) |
/// | `directory.untrusted` | the signer's certificate does not chain to the federation root, is revoked, expired or not a signing certificate |
/// | `directory.form` | the signed content is not an entry: JSON, members, types, endpoints, patterns |
/// | `directory.signer` | signed by another Party than the entry's `party` |
/// | `directory.certificate` | an embedded certificate is malformed, names another Party, does not fit its purpose, does not verify to the root now, or the signing certificate is not the CMS signer's |
/// | `directory.identity` | (hub) the TLS peer that posted the entry is not the entry's Party |
/// | `directory.version` | (hub, cache) not newer than the version held |
/// | `directory.not-hub` | (route) the node is not a hub |
public struct DirectoryError: CodedError, Sendable, Equatable {
    public let code: String
    public let reason: String
    /// For `directory.version`: the version held.
    public let current: Int64?

    public init(code: String, reason: String, current: Int64? = nil) {
        self.code = code
        self.reason = reason
        self.current = current
    }

    /// The HTTP status the hub answers with.
    public var httpStatus: Int {
        switch code {
        case "directory.too-large": return 413
        case "directory.identity": return 403
        case "directory.version": return 409
        case "directory.not-hub": return 404
        default: return 422
        }
    }
}

/// A competent authority a Party names in its entry (e.g. customs, tax).
public struct CompetentAuthority: Sendable, Equatable, Hashable {
    public let name: String
    public let role: String

    public init(name: String, role: String) {
        self.name = name
        self.role = role
    }
}

/// The content of a directory entry (docs/hub.md §2), before signing or after verification.
/// Every initialiser checks the same rules, so an entry that exists is well formed:
///
/// - `party`: `urn:fctc:party:XX` (a hub publishes no entry).
/// - `issued`: canonical UTC with milliseconds (`2026-11-24T10:00:00.000Z`).
/// - `version`: an integer ≥ 1; the newest version of a Party's entries wins.
/// - `endpoints`: `HOST:PORT` federation listeners (IPv4, `[IPv6]` or a DNS name; port 1–65535),
///   no duplicates; may be empty (reachable through the hub only).
/// - `certificates`: exactly `transport`, `signing`, `sealing`, each one PEM certificate.
/// - `competentAuthorities`: `{"name", "role"}` objects of non-empty strings.
/// - `uimPatterns`: prefixes of canonical UIMs, no duplicates (see `Directory.patternProblem`).
///
/// Unknown members, wrong types, duplicate keys and values over the limits are refused.
public struct DirectoryEntry: Sendable, Equatable {
    public let party: PartyID
    public let issued: String
    public let version: Int64
    public let endpoints: [String]
    /// PEM text of the transport, signing and sealing certificates, as published.
    public let transportPEM: String
    public let signingPEM: String
    public let sealingPEM: String
    public let competentAuthorities: [CompetentAuthority]
    public let uimPatterns: [String]

    public static let members = ["party", "issued", "version", "endpoints", "certificates", "competentAuthorities", "uimPatterns"]

    /// Builds an entry, checking every rule (`directory.form` otherwise).
    public init(party: PartyID, issued: String, version: Int64, endpoints: [String], transportPEM: String, signingPEM: String,
                sealingPEM: String, competentAuthorities: [CompetentAuthority], uimPatterns: [String]) throws(DirectoryError) {
        func fail(_ what: String) -> DirectoryError { DirectoryError(code: "directory.form", reason: "directory entry: \(what)") }
        guard party.kind == .party else { throw fail("'party' must be a Party (urn:fctc:party:XX), not \(party.urn)") }
        guard let time = Timestamp.parse(issued), time.canonicalUTC == issued else {
            throw fail("'issued' must be a UTC time like 2026-11-24T10:00:00.000Z, got '\(Self.clip(issued))'")
        }
        guard version >= 1 else { throw fail("'version' must be an integer of at least 1") }
        guard endpoints.count <= Directory.maxEndpoints else { throw fail("at most \(Directory.maxEndpoints) endpoints") }
        for endpoint in endpoints where !Directory.isEndpoint(endpoint) {
            throw fail("endpoint '\(Self.clip(endpoint))' is not HOST:PORT (IPv4, [IPv6] or a DNS name, port 1-65535)")
        }
        guard Set(endpoints).count == endpoints.count else { throw fail("an endpoint is listed twice") }
        for (purpose, pem) in [("transport", transportPEM), ("signing", signingPEM), ("sealing", sealingPEM)] {
            guard pem.hasPrefix("-----BEGIN CERTIFICATE-----"), pem.utf8.count <= Directory.maxCertificateBytes else {
                throw fail("certificates.\(purpose) must be one PEM certificate (at most \(Directory.maxCertificateBytes) bytes)")
            }
        }
        guard competentAuthorities.count <= Directory.maxAuthorities else { throw fail("at most \(Directory.maxAuthorities) competent authorities") }
        for authority in competentAuthorities {
            guard Self.isText(authority.name), Self.isText(authority.role) else {
                throw fail("a competent authority needs a non-empty 'name' and 'role' (at most \(Directory.maxTextBytes) bytes, no control characters)")
            }
        }
        guard uimPatterns.count <= Directory.maxPatterns else { throw fail("at most \(Directory.maxPatterns) UIM patterns") }
        for pattern in uimPatterns {
            if let problem = Directory.patternProblem(pattern) { throw fail(problem) }
        }
        guard Set(uimPatterns).count == uimPatterns.count else { throw fail("a UIM pattern is listed twice") }
        self.party = party
        self.issued = issued
        self.version = version
        self.endpoints = endpoints
        self.transportPEM = transportPEM
        self.signingPEM = signingPEM
        self.sealingPEM = sealingPEM
        self.competentAuthorities = competentAuthorities
        self.uimPatterns = uimPatterns
    }

    /// The entry of `party` with the certificates of its folder.
    public init(party: PartyID, issued: Date, version: Int64, endpoints: [String], transport: Certificate, signing: Certificate,
                sealing: Certificate, competentAuthorities: [CompetentAuthority], uimPatterns: [String]) throws(DirectoryError) {
        let millis = Int64((issued.timeIntervalSince1970 * 1000).rounded(.down))
        try self.init(party: party, issued: Timestamp(epochMilliseconds: millis).canonicalUTC, version: version, endpoints: endpoints,
                      transportPEM: transport.pemString, signingPEM: signing.pemString, sealingPEM: sealing.pemString,
                      competentAuthorities: competentAuthorities, uimPatterns: uimPatterns)
    }

    /// The JSON text that is signed: the members in the documented order.
    public var content: [UInt8] {
        JSONWriter.serialize(.object([
            "party": .string(party.urn), "issued": .string(issued), "version": .number(String(version)),
            "endpoints": .array(endpoints.map(JSONValue.string)),
            "certificates": .object(["transport": .string(transportPEM), "signing": .string(signingPEM), "sealing": .string(sealingPEM)]),
            "competentAuthorities": .array(competentAuthorities.map { .object(["name": .string($0.name), "role": .string($0.role)]) }),
            "uimPatterns": .array(uimPatterns.map(JSONValue.string)),
        ]))
    }

    /// Parses signed content strictly (`directory.form`).
    public init(content: [UInt8]) throws(DirectoryError) {
        func fail(_ what: String) -> DirectoryError { DirectoryError(code: "directory.form", reason: "directory entry: \(what)") }
        var limits = JSONParser.Limits()
        limits.maxDepth = 4
        limits.duplicateKeys = .reject
        let value: JSONValue
        do { value = try JSONParser.parse(content, limits: limits) } catch { throw fail("not JSON: \(error.description)") }
        guard case .object(let o) = value else { throw fail("must be a JSON object") }
        if let unknown = o.keys.first(where: { !Self.members.contains($0) }) { throw fail("unknown member '\(Self.clip(unknown))'") }
        if let missing = Self.members.first(where: { o[$0] == nil }) { throw fail("'\(missing)' is required") }
        func string(_ value: JSONValue?, _ name: String) throws(DirectoryError) -> String {
            guard case .string(let s)? = value else { throw fail("'\(name)' must be a string, not \(value?.typeDescription ?? "absent")") }
            return s
        }
        func strings(_ name: String) throws(DirectoryError) -> [String] {
            guard case .array(let items)? = o[name] else { throw fail("'\(name)' must be an array, not \(o[name]?.typeDescription ?? "absent")") }
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw fail("'\(name)' must hold strings, not \(item.typeDescription)") }
                out.append(s)
            }
            return out
        }
        let partyText = try string(o["party"], "party")
        guard let party = try? PartyID(urn: partyText) else { throw fail("'party' is not a federation identity: '\(Self.clip(partyText))'") }
        guard case .number(let versionText)? = o["version"], let version = Int64(versionText) else {
            throw fail("'version' must be an integer")
        }
        guard case .object(let certificates)? = o["certificates"] else { throw fail("'certificates' must be an object") }
        guard Set(certificates.keys) == ["transport", "signing", "sealing"], certificates.keys.count == 3 else {
            throw fail("'certificates' must have exactly 'transport', 'signing' and 'sealing'")
        }
        guard case .array(let authorityItems)? = o["competentAuthorities"] else { throw fail("'competentAuthorities' must be an array") }
        var authorities: [CompetentAuthority] = []
        for item in authorityItems {
            guard case .object(let a) = item, Set(a.keys) == ["name", "role"], a.keys.count == 2 else {
                throw fail("each competent authority must be {\"name\", \"role\"}")
            }
            authorities.append(CompetentAuthority(name: try string(a["name"], "competentAuthorities.name"),
                                                  role: try string(a["role"], "competentAuthorities.role")))
        }
        try self.init(party: party, issued: try string(o["issued"], "issued"), version: version, endpoints: try strings("endpoints"),
                      transportPEM: try string(certificates["transport"], "certificates.transport"),
                      signingPEM: try string(certificates["signing"], "certificates.signing"),
                      sealingPEM: try string(certificates["sealing"], "certificates.sealing"),
                      competentAuthorities: authorities, uimPatterns: try strings("uimPatterns"))
    }

    /// Signs the entry (CMS SignedData, content attached) with the Party's signing
    /// certificate and key, and verifies the result as any node would.
    public func sign(certificate: Certificate, key: PrivateKey, trust: TrustStore, now: Date = Date()) throws -> VerifiedEntry {
        let signed = try CMS.sign(content, signer: certificate, key: key)
        return try Directory.verify(signed, trust: trust, now: now)
    }

    static func isText(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= Directory.maxTextBytes && !s.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// A value quoted in a reason: at most 80 characters, no control characters.
    static func clip(_ s: String) -> String {
        let cleaned = String(String.UnicodeScalarView(s.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : $0 }))
        return cleaned.count > 80 ? String(cleaned.prefix(80)) + "…" : cleaned
    }
}

/// An entry that verified (`Directory.verify`): its content, the exact signed bytes, and the
/// certificates it publishes, each checked to the federation root.
public struct VerifiedEntry: Sendable {
    public let entry: DirectoryEntry
    /// The CMS SignedData exactly as published (what the hub stores and relays).
    public let signed: [UInt8]
    /// SHA-256 of `signed`, lowercase hex.
    public let digest: String
    public let signingTime: Date
    public let transportCertificate: Certificate
    public let signingCertificate: Certificate
    public let sealingCertificate: Certificate

    public var party: PartyID { entry.party }
    public var version: Int64 { entry.version }
    public var issued: String { entry.issued }
    public var endpoints: [String] { entry.endpoints }
    public var competentAuthorities: [CompetentAuthority] { entry.competentAuthorities }
    public var uimPatterns: [String] { entry.uimPatterns }

    /// The longest of this entry's patterns that `canonicalUIM` starts with.
    public func longestPattern(matching canonicalUIM: String) -> String? {
        uimPatterns.filter { canonicalUIM.hasPrefix($0) }.max { $0.utf8.count < $1.utf8.count }
    }
}

/// One entry that did not verify, for `directory show` and the audit log.
public struct InvalidEntry: Sendable, Equatable {
    /// Its position in what was fetched.
    public let index: Int
    /// SHA-256 of the bytes, lowercase hex.
    public let digest: String
    /// The Party the object claims as signer (read without verification), when readable.
    public let claimedSigner: String?
    public let error: DirectoryError
}

/// The result of checking a set of signed entries (`Directory.evaluate`).
public struct DirectoryEvaluation: Sendable {
    /// The newest valid entry of each Party, by Party.
    public let valid: [VerifiedEntry]
    /// Valid entries that a newer version of the same Party's entry replaces.
    public let superseded: [VerifiedEntry]
    public let invalid: [InvalidEntry]
}

/// Who owns a UIM by the directory's patterns.
public enum UIMOwnership: Sendable {
    /// One Party has the longest matching pattern.
    case owned(VerifiedEntry, pattern: String)
    /// Several Parties publish the same longest matching pattern: nobody is the owner.
    case ambiguous([PartyID], pattern: String)
    case unowned
}

/// The directory's pure rules (docs/hub.md §2): limits, patterns, verification, newest
/// version, owner lookup. No I/O: the hub, the nodes and the tests call the same code.
public enum Directory {
    public static let maxSignedBytes = 256 << 10
    public static let maxEndpoints = 16
    public static let maxPatterns = 1000
    public static let maxAuthorities = 32
    public static let maxTextBytes = 256
    public static let maxCertificateBytes = 16 << 10
    static let maxPatternBytes = 256

    /// The canonical GS1 Digital Link prefix of UIM patterns.
    public static let digitalLinkPrefix = "https://id.gs1.org/"

    /// Primary-key AIs of canonical Digital Link URIs: how many leading characters of the
    /// key are digits (GTIN 14, SSCC 18, …; 0 for alphanumeric keys) and its longest length.
    static let keys: [String: (digits: Int, maxLength: Int)] = [
        "00": (18, 18), "01": (14, 14), "253": (13, 30), "255": (13, 25), "401": (0, 30), "402": (17, 17), "414": (13, 13),
        "417": (13, 13), "8003": (14, 30), "8004": (0, 30), "8006": (18, 18), "8010": (0, 30), "8017": (18, 18), "8018": (18, 18),
    ]

    /// EPC schemes that `DigitalLinkNormalizer` turns into Digital Link: a UIM of these is
    /// indexed as `https://id.gs1.org/…`, so a `urn:epc:id:` pattern for them would never match.
    static let digitalLinkSchemes: Set<String> = [
        "sgtin", "sscc", "sgln", "grai", "giai", "ginc", "gsrn", "gsrnp", "gdti", "cpi", "sgcn", "gsin", "itip", "upui", "pgln",
    ]

    /// Why `pattern` is not a UIM pattern, or nil when it is one. A pattern is a prefix of
    /// the canonical form `UIMReference.canonical` gives (what the UIM index stores):
    ///
    /// - `https://id.gs1.org/AI/KEYPREFIX…`: AI is a primary-key AI (01, 00, 414, 8003, …),
    ///   at least one character of the key follows, the key's numeric part is digits and not
    ///   longer than the key; a key shorter than its full length is a prefix of keys, and a
    ///   complete key (full length, or followed by qualifiers such as `/21/…`) must be in the
    ///   canonical form the index stores (`https://id.gs1.org/01/04870123123452/21/A`, not
    ///   `…/01/4870123123452/21/A` or `…/10/LOT/21/A`);
    /// - `urn:epc:id:SCHEME:PREFIX…` for EPC schemes that have no Digital Link form (e.g.
    ///   `gid`, `usdod`, `adi`, `bic`, `imovn`), which the index keeps as written.
    ///
    /// Printable ASCII only, no space, `?` or `#`, at most 256 bytes.
    public static func patternProblem(_ pattern: String) -> String? {
        let quoted = "UIM pattern '\(DirectoryEntry.clip(pattern))'"
        guard pattern.utf8.count <= maxPatternBytes else { return "\(quoted) is longer than \(maxPatternBytes) bytes" }
        guard pattern.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }) else {
            return "\(quoted) must be printable ASCII without spaces, '?' or '#'"
        }
        if pattern.hasPrefix(digitalLinkPrefix) {
            let path = pattern.dropFirst(digitalLinkPrefix.count)
            let segments = path.split(separator: "/", omittingEmptySubsequences: false)
            guard segments.count >= 2, let key = keys[String(segments[0])] else {
                return "\(quoted) must be https://id.gs1.org/AI/KEY… with a primary-key AI (\(keys.keys.sorted().joined(separator: ", ")))"
            }
            guard !segments[1].isEmpty else { return "\(quoted) must name at least the start of the key after /\(segments[0])/" }
            // Segments after the key are qualifiers (/21/…, /10/…); only the last may be empty (a trailing '/').
            guard !segments.dropFirst(2).dropLast().contains(where: \.isEmpty) else { return "\(quoted) has an empty path segment" }
            guard segments[1].utf8.prefix(key.digits).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return "\(quoted): the first \(key.digits) characters of an AI \(segments[0]) key are digits"
            }
            guard segments[1].utf8.count <= key.maxLength else {
                return "\(quoted): an AI \(segments[0]) key has at most \(key.maxLength) characters"
            }
            // A shorter key is a prefix of keys (`/01/0487` — even when it would read as a
            // GTIN-8 or GTIN-13); a complete one (full length, or followed by a qualifier) must
            // already be what the UIM index stores.
            let complete = segments.count > 2 || (key.digits > 0 && segments[1].utf8.count >= key.digits)
            if complete, let canonical = DigitalLinkNormalizer.normalize(pattern), canonical != pattern {
                return "\(quoted) is not canonical: the UIM index stores it as '\(DirectoryEntry.clip(canonical))'"
            }
            return nil
        }
        if pattern.hasPrefix("urn:epc:id:") {
            let rest = pattern.dropFirst("urn:epc:id:".count)
            guard let colon = rest.firstIndex(of: ":"), colon != rest.startIndex, rest.index(after: colon) != rest.endIndex else {
                return "\(quoted) must be urn:epc:id:SCHEME:PREFIX… with at least one character after the scheme"
            }
            let scheme = String(rest[..<colon])
            if digitalLinkSchemes.contains(scheme) {
                return "\(quoted): \(scheme) identifiers are indexed in GS1 Digital Link form; use an https://id.gs1.org/… pattern"
            }
            return nil
        }
        return "\(quoted) must start with \(digitalLinkPrefix) (canonical GS1 Digital Link) or urn:epc:id: (EPC schemes without a Digital Link form)"
    }

    /// Whether `text` is a federation endpoint: `HOST:PORT`, HOST an IPv4 address, a
    /// bracketed IPv6 address or a DNS name, PORT 1–65535 without leading zeros.
    public static func isEndpoint(_ text: String) -> Bool {
        guard text.utf8.count <= 262, let colon = text.lastIndex(of: ":") else { return false }
        let host = text[..<colon], portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (1...65535).contains(port), String(port) == portText else { return false }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return false }
            let inner = host.dropFirst().dropLast()
            return inner.contains(":") && inner.utf8.allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }
        }
        guard !host.isEmpty, host.utf8.count <= 253, !host.contains(":") else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { isHexDigit($0) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || $0 == UInt8(ascii: "-") }
        }
    }

    private static func isHexDigit(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46) }

    /// Verifies one signed entry, anywhere (hub, node, test), against `trust` (the
    /// federation root and CRL):
    ///
    /// 1. CMS SignedData with exactly one signer; the signature verifies and the signer's
    ///    certificate chains to the root for signing at the signing time, not revoked;
    /// 2. the content is a well-formed entry (`DirectoryEntry(content:)`);
    /// 3. the signer is the entry's `party`;
    /// 4. each embedded certificate names the Party, fits its purpose and verifies to the
    ///    root **now** (a node uses them now), not revoked;
    /// 5. the embedded signing certificate is the one that signed.
    public static func verify(_ signed: [UInt8], trust: TrustStore, now: Date = Date()) throws(DirectoryError) -> VerifiedEntry {
        guard signed.count <= maxSignedBytes else {
            throw DirectoryError(code: "directory.too-large", reason: "the signed entry is \(signed.count) bytes; at most \(maxSignedBytes)")
        }
        let verified: VerifiedSignedData
        do {
            verified = try CMS.verify(signed, trust: trust, now: now)
        } catch let error as CryptoError {
            let code = error.code.hasPrefix("crypto.cert.") ? "directory.untrusted" : "directory.signature"
            throw DirectoryError(code: code, reason: "the entry's signature does not verify: \(error.reason)")
        } catch {
            throw DirectoryError(code: "directory.signature", reason: "the entry's signature does not verify")
        }
        let entry = try DirectoryEntry(content: verified.content)
        guard verified.signerURN == entry.party.urn else {
            throw DirectoryError(code: "directory.signer", reason: "the entry of \(entry.party.urn) is signed by \(verified.signerURN)")
        }
        func check(_ pem: String, _ purpose: CertificatePurpose) throws(DirectoryError) -> Certificate {
            func fail(_ what: String) -> DirectoryError {
                DirectoryError(code: "directory.certificate", reason: "the \(purpose) certificate of \(entry.party.urn)'s entry \(what)")
            }
            let certificate: Certificate
            do { certificate = try Certificate(pemEncoded: Array(pem.utf8)) } catch { throw fail("is not a PEM certificate") }
            guard certificate.partyURN == entry.party.urn else { throw fail("names \(certificate.partyURN ?? "no federation identity")") }
            do {
                try trust.verify(certificate, purpose: purpose, at: now)
            } catch let error as CryptoError {
                throw fail("does not verify: \(error.reason)")
            } catch {
                throw fail("does not verify")
            }
            return certificate
        }
        let transport = try check(entry.transportPEM, .transport)
        let signing = try check(entry.signingPEM, .signing)
        let sealing = try check(entry.sealingPEM, .sealing)
        guard signing == verified.signerCertificate else {
            throw DirectoryError(code: "directory.certificate",
                                 reason: "the entry of \(entry.party.urn) publishes signing \(signing) but was signed with \(verified.signerCertificate)")
        }
        return VerifiedEntry(entry: entry, signed: signed, digest: SHA256.hexHash(signed), signingTime: verified.signingTime,
                             transportCertificate: transport, signingCertificate: signing, sealingCertificate: sealing)
    }

    /// Whether `candidate` should replace `held` for the same Party: a higher version wins;
    /// the same version signed twice differently (equivocation) keeps the later `issued`,
    /// then the later signing time, then the smaller digest, so every node picks the same.
    public static func isNewer(_ candidate: VerifiedEntry, than held: VerifiedEntry) -> Bool {
        if candidate.version != held.version { return candidate.version > held.version }
        if candidate.issued != held.issued { return candidate.issued > held.issued }
        if candidate.signingTime != held.signingTime { return candidate.signingTime > held.signingTime }
        return candidate.digest < held.digest
    }

    /// Verifies each signed entry and keeps the newest valid one per Party.
    public static func evaluate(_ signedEntries: [[UInt8]], trust: TrustStore, now: Date = Date()) -> DirectoryEvaluation {
        var newest: [PartyID: VerifiedEntry] = [:]
        var superseded: [VerifiedEntry] = []
        var invalid: [InvalidEntry] = []
        for (index, signed) in signedEntries.enumerated() {
            do {
                let entry = try verify(signed, trust: trust, now: now)
                if let held = newest[entry.party] {
                    if held.digest == entry.digest { continue }
                    if isNewer(entry, than: held) {
                        superseded.append(held)
                        newest[entry.party] = entry
                    } else {
                        superseded.append(entry)
                    }
                } else {
                    newest[entry.party] = entry
                }
            } catch {
                let claimed = (try? CMSInspector.inspect(signed))?.signers.first?.partyURN
                invalid.append(InvalidEntry(index: index, digest: SHA256.hexHash(signed), claimedSigner: claimed, error: error))
            }
        }
        return DirectoryEvaluation(valid: newest.values.sorted { $0.party < $1.party }, superseded: superseded, invalid: invalid)
    }

    /// The owner of `uim` among `entries` (one per Party): the Party whose pattern is the
    /// longest prefix of the UIM's canonical form (`UIMReference.canonical`).
    public static func ownership(ofUIM uim: String, among entries: [VerifiedEntry]) -> UIMOwnership {
        let canonical = UIMReference.canonical(uim)
        var best: (length: Int, pattern: String, entries: [VerifiedEntry]) = (0, "", [])
        for entry in entries {
            guard let pattern = entry.longestPattern(matching: canonical) else { continue }
            let length = pattern.utf8.count
            if length > best.length {
                best = (length, pattern, [entry])
            } else if length == best.length, !best.entries.contains(where: { $0.party == entry.party }) {
                best.entries.append(entry)
            }
        }
        switch best.entries.count {
        case 0: return .unowned
        case 1: return .owned(best.entries[0], pattern: best.pattern)
        default: return .ambiguous(best.entries.map(\.party).sorted(), pattern: best.pattern)
        }
    }
}
