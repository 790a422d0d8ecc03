import Foundation
import Testing
import Crypto
import Model
import Sync

/// Extra identities under the sync test root for the directory: a second KZ folder (same
/// Party, other certificates) and two KZ folders with a revoked certificate each, plus the
/// root's CRL that lists them.
final class DirectoryPKI: Sendable {
    static let shared: DirectoryPKI = {
        do { return try DirectoryPKI() } catch { fatalError("cannot build the directory test PKI: \(error)") }
    }()

    let secondKZ: PartyCertificateFolder
    let revokedSigningKZ: PartyCertificateFolder
    let revokedTransportKZ: PartyCertificateFolder
    /// The federation root with the CRL that revokes the two certificates above.
    let trustWithCRL: TrustStore

    private init() throws {
        let base = SyncPKI.shared.directory, root = base + "/root"
        for name in ["kz-second", "kz-revoked-signing", "kz-revoked-transport"] {
            try SyncPKI.script("issue-party.sh", "KZ", base + "/" + name, "--root", root)
        }
        let kz = Parties.kz.urn
        secondKZ = try PartyCertificateFolder.load(from: base + "/kz-second", expectedParty: kz)
        revokedSigningKZ = try PartyCertificateFolder.load(from: base + "/kz-revoked-signing", expectedParty: kz)
        revokedTransportKZ = try PartyCertificateFolder.load(from: base + "/kz-revoked-transport", expectedParty: kz)
        try SyncPKI.script("revoke.sh", base + "/kz-revoked-signing/signing.pem", "--root", root)
        try SyncPKI.script("revoke.sh", base + "/kz-revoked-transport/transport.pem", "--root", root)
        trustWithCRL = try TrustStore(rootFile: root + "/root.pem", crlFile: root + "/crl.pem")
    }
}

/// docs/hub.md §2: the signed entry's format, its verification anywhere, the newest version,
/// and the owner of a UIM.
@Suite struct DirectoryEntryTests {
    let pki = SyncPKI.shared
    var trust: TrustStore { pki.kz.trust }

    static let issued = "2026-11-24T10:00:00.000Z"

    func entry(_ folder: PartyCertificateFolder, party: PartyID = Parties.kz, version: Int64 = 1, issued: String = issued,
               endpoints: [String] = ["203.0.113.10:9443"], patterns: [String] = ["https://id.gs1.org/01/0487"],
               transport: Certificate? = nil, signing: Certificate? = nil, sealing: Certificate? = nil) throws -> DirectoryEntry {
        try DirectoryEntry(party: party, issued: issued, version: version, endpoints: endpoints,
                           transportPEM: (transport ?? folder.transportCertificate).pemString,
                           signingPEM: (signing ?? folder.signingCertificate).pemString,
                           sealingPEM: (sealing ?? folder.sealingCertificate).pemString,
                           competentAuthorities: [CompetentAuthority(name: "State Revenue Committee", role: "customs")],
                           uimPatterns: patterns)
    }

    /// Signs raw content with `folder`'s signing key (no checks: the verifier must make them).
    func sign(_ content: [UInt8], _ folder: PartyCertificateFolder) throws -> [UInt8] {
        try CMS.sign(content, signer: folder.signingCertificate, key: folder.signingKey)
    }

    func refusal(_ signed: [UInt8], trust: TrustStore? = nil) -> DirectoryError? {
        do {
            _ = try Directory.verify(signed, trust: trust ?? self.trust)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Format

    @Test func anEntrySignsVerifiesAndReadsBackExactly() throws {
        let made = try entry(pki.kz, version: 3, endpoints: ["203.0.113.10:9443", "[2001:db8::1]:9443", "kz.example.org:443"])
        let verified = try made.sign(certificate: pki.kz.signingCertificate, key: pki.kz.signingKey, trust: trust)
        #expect(verified.entry == made)
        #expect(verified.party == Parties.kz && verified.version == 3 && verified.issued == Self.issued)
        #expect(verified.digest == SHA256.hexHash(verified.signed))
        #expect(verified.signingCertificate == pki.kz.signingCertificate)
        #expect(verified.transportCertificate == pki.kz.transportCertificate)
        #expect(verified.sealingCertificate == pki.kz.sealingCertificate)
        // The signed bytes verify again as they are (what the hub stores and relays).
        let again = try Directory.verify(verified.signed, trust: trust)
        #expect(again.entry == made && again.digest == verified.digest)
        // The content is the documented JSON, members in order.
        let object = try #require(try JSONParser.parse(made.content).objectValue)
        #expect(object.keys == DirectoryEntry.members)
        #expect(object["version"] == .number("3"))
        #expect(object["certificates"]?.objectValue?.keys == ["transport", "signing", "sealing"])
        #expect(try DirectoryEntry(content: made.content) == made)
        // A Date-based entry writes `issued` in canonical UTC with milliseconds.
        let dated = try DirectoryEntry(party: Parties.kz, issued: Date(timeIntervalSince1970: 1_795_000_000.1234), version: 1, endpoints: [],
                                       transport: pki.kz.transportCertificate, signing: pki.kz.signingCertificate,
                                       sealing: pki.kz.sealingCertificate, competentAuthorities: [], uimPatterns: [])
        #expect(dated.issued == "2026-11-18T11:06:40.123Z")
    }

    /// Each mutation of a valid entry's JSON, and why it is refused.
    static let malformed: [(String, @Sendable (inout String) -> Void, String)] = [
        ("unknown member", { $0 = $0.replacingOccurrences(of: #""version":"#, with: #""extra":1,"version":"#) }, "unknown member 'extra'"),
        ("missing member", { $0 = $0.replacingOccurrences(of: #","endpoints":["203.0.113.10:9443"]"#, with: "") }, "'endpoints' is required"),
        ("duplicate key", { $0 = $0.replacingOccurrences(of: #""version":1"#, with: #""version":1,"version":2"#) }, "not JSON"),
        ("version as a string", { $0 = $0.replacingOccurrences(of: #""version":1"#, with: #""version":"1""#) }, "'version' must be an integer"),
        ("version 0", { $0 = $0.replacingOccurrences(of: #""version":1"#, with: #""version":0"#) }, "at least 1"),
        ("fractional version", { $0 = $0.replacingOccurrences(of: #""version":1"#, with: #""version":1.5"#) }, "'version' must be an integer"),
        ("party not a URN", { $0 = $0.replacingOccurrences(of: #""party":"urn:fctc:party:KZ""#, with: #""party":"KZ""#) }, "not a federation identity"),
        ("party is a hub", { $0 = $0.replacingOccurrences(of: #""party":"urn:fctc:party:KZ""#, with: #""party":"urn:fctc:hub:gsp""#) }, "must be a Party"),
        ("issued not canonical", { $0 = $0.replacingOccurrences(of: issued, with: "2026-11-24T10:00:00Z") }, "'issued' must be a UTC time"),
        ("issued with an offset", { $0 = $0.replacingOccurrences(of: issued, with: "2026-11-24T12:00:00.000+02:00") }, "'issued' must be a UTC time"),
        ("endpoints not an array", { $0 = $0.replacingOccurrences(of: #"["203.0.113.10:9443"]"#, with: #""203.0.113.10:9443""#) }, "'endpoints' must be an array"),
        ("endpoint without port", { $0 = $0.replacingOccurrences(of: "203.0.113.10:9443", with: "203.0.113.10") }, "is not HOST:PORT"),
        ("endpoint port 0", { $0 = $0.replacingOccurrences(of: "203.0.113.10:9443", with: "203.0.113.10:0") }, "is not HOST:PORT"),
        ("endpoint with a path", { $0 = $0.replacingOccurrences(of: "203.0.113.10:9443", with: "https://kz/x:9443") }, "is not HOST:PORT"),
        ("endpoint twice", { $0 = $0.replacingOccurrences(of: #"["203.0.113.10:9443"]"#, with: #"["203.0.113.10:9443","203.0.113.10:9443"]"#) }, "listed twice"),
        ("endpoint a number", { $0 = $0.replacingOccurrences(of: #"["203.0.113.10:9443"]"#, with: "[9443]") }, "must hold strings"),
        ("extra certificate", { $0 = $0.replacingOccurrences(of: #""certificates":{"#, with: #""certificates":{"root":"x","#) }, "exactly 'transport', 'signing' and 'sealing'"),
        ("certificate not PEM", { s in
            let start = s.range(of: #""transport":""#)!.upperBound
            let end = s.range(of: #"","signing""#)!.lowerBound
            s.replaceSubrange(start..<end, with: "MIIB")
        }, "certificates.transport must be one PEM certificate"),
        ("authority without role", { $0 = $0.replacingOccurrences(of: #","role":"customs""#, with: "") }, #"{"name", "role"}"#),
        ("authority with an extra member", { $0 = $0.replacingOccurrences(of: #""role":"customs""#, with: #""role":"customs","phone":"1""#) }, #"{"name", "role"}"#),
        ("authority with an empty name", { $0 = $0.replacingOccurrences(of: #""name":"State Revenue Committee""#, with: #""name":"""#) }, "non-empty 'name' and 'role'"),
        ("pattern in EPC form for a GS1 key", { $0 = $0.replacingOccurrences(of: "https://id.gs1.org/01/0487", with: "urn:epc:id:sgtin:487") }, "use an https://id.gs1.org/"),
        ("pattern twice", { $0 = $0.replacingOccurrences(of: #"["https://id.gs1.org/01/0487"]"#, with: #"["https://id.gs1.org/01/0487","https://id.gs1.org/01/0487"]"#) }, "listed twice"),
        ("pattern not a string", { $0 = $0.replacingOccurrences(of: #"["https://id.gs1.org/01/0487"]"#, with: "[null]") }, "must hold strings"),
        ("top level array", { $0 = "[" + $0 + "]" }, "must be a JSON object"),
        ("trailing garbage", { $0 += "x" }, "not JSON"),
    ]

    @Test(arguments: 0..<malformed.count)
    func malformedContentIsRefusedWithAReason(_ index: Int) throws {
        let (label, mutate, reason) = Self.malformed[index]
        var text = String(decoding: try entry(pki.kz).content, as: UTF8.self)
        let before = text
        mutate(&text)
        #expect(text != before, "\(label): the mutation did not apply")
        // The parser alone, and the whole verification of a properly signed object.
        #expect(throws: DirectoryError.self, "\(label)") { try DirectoryEntry(content: Array(text.utf8)) }
        let error = refusal(try sign(Array(text.utf8), pki.kz))
        #expect(error?.code == "directory.form", "\(label): \(String(describing: error))")
        #expect(error?.reason.contains(reason) == true, "\(label): \(error?.reason ?? "accepted")")
    }

    @Test(arguments: [
        "https://id.gs1.org/01/0487", "https://id.gs1.org/01/04870123123452", "https://id.gs1.org/01/04870123123452/21/",
        "https://id.gs1.org/01/04870123123452/21/ABC", "https://id.gs1.org/00/0487", "https://id.gs1.org/414/487",
        "https://id.gs1.org/8004/4870123ABC", "https://id.gs1.org/01/04870999", "https://id.gs1.org/01/4870123123452",
        "urn:epc:id:gid:95100000.1", "urn:epc:id:usdod:2S194",
    ])
    func canonicalPatternsAreAccepted(_ pattern: String) {
        #expect(Directory.patternProblem(pattern) == nil, "\(Directory.patternProblem(pattern) ?? "")")
    }

    @Test(arguments: [
        ("http://id.gs1.org/01/0487", "must start with https://id.gs1.org/"),
        ("https://example.com/01/0487", "must start with https://id.gs1.org/"),
        ("487", "must start with https://id.gs1.org/"),
        ("https://id.gs1.org/", "primary-key AI"),
        ("https://id.gs1.org/01", "primary-key AI"),
        ("https://id.gs1.org/21/0487", "primary-key AI"),
        ("https://id.gs1.org/gtin/0487", "primary-key AI"),
        ("https://id.gs1.org/01/", "at least the start of the key"),
        ("https://id.gs1.org/01/04A7", "are digits"),
        ("https://id.gs1.org/01/4870123123452/21/A", "stores it as 'https://id.gs1.org/01/04870123123452/21/A'"),
        ("https://id.gs1.org/01/04870123123452/10/LOT/21/A", "not canonical"),
        ("https://id.gs1.org/01/04870123123452/22/CPV", "not canonical"),
        ("https://id.gs1.org/01/048701231234521", "at most 14 characters"),
        ("https://id.gs1.org/01/04870123123452//21", "empty path segment"),
        ("https://id.gs1.org/01/0487 ", "printable ASCII"),
        ("https://id.gs1.org/01/0487?x=1", "printable ASCII"),
        ("https://id.gs1.org/01/0487é", "printable ASCII"),
        ("urn:epc:id:sgtin:4870123", "Digital Link form"),
        ("urn:epc:id:sscc:4870123", "Digital Link form"),
        ("urn:epc:id:gid:", "at least one character after the scheme"),
        ("urn:epc:id:gid", "at least one character after the scheme"),
    ])
    func nonCanonicalPatternsAreRefused(_ pattern: String, _ reason: String) {
        let problem = Directory.patternProblem(pattern)
        #expect(problem?.contains(reason) == true, "\(pattern): \(problem ?? "accepted")")
    }

    @Test(arguments: ["203.0.113.10:9443", "[::1]:1", "[2001:db8::1]:65535", "kz-node.example.org:9443", "localhost:9443"])
    func endpointsAreHostAndPort(_ endpoint: String) {
        #expect(Directory.isEndpoint(endpoint))
    }

    @Test(arguments: ["203.0.113.10", "203.0.113.10:65536", "203.0.113.10:09443", ":9443", "[::1:9443", "a b:1", "-kz.org:1",
                      "kz..org:1", "::1:9443", "https://kz:1"])
    func badEndpointsAreRefused(_ endpoint: String) {
        #expect(!Directory.isEndpoint(endpoint))
    }

    // MARK: - Verification

    @Test func alteredGarbageTruncatedOrDetachedObjectsAreRefused() throws {
        let signed = try entry(pki.kz).sign(certificate: pki.kz.signingCertificate, key: pki.kz.signingKey, trust: trust).signed
        // One byte of the content changed (a pattern widened), as a hub might try.
        var altered = signed
        let needle = Array("01/0487".utf8)
        let at = try #require((0...(altered.count - needle.count)).first { Array(altered[$0..<($0 + needle.count)]) == needle })
        altered[at + 6] = UInt8(ascii: "2")
        #expect(refusal(altered)?.code == "directory.signature")
        #expect(refusal(Array(signed.prefix(signed.count - 10)))?.code == "directory.signature")
        #expect(refusal(Array("not CMS".utf8))?.code == "directory.signature")
        #expect(refusal([])?.code == "directory.signature")
        let detached = try CMS.sign(try entry(pki.kz).content, signer: pki.kz.signingCertificate, key: pki.kz.signingKey, detached: true)
        #expect(refusal(detached)?.code == "directory.signature")
        #expect(refusal([UInt8](repeating: 0x30, count: Directory.maxSignedBytes + 1))?.code == "directory.too-large")
    }

    @Test func anEntrySignedByAnotherPartyIsRefused() throws {
        // UA signs an entry naming KZ (with KZ's certificates in it).
        let error = refusal(try sign(try entry(pki.kz).content, pki.ua))
        #expect(error?.code == "directory.signer")
        #expect(error?.reason == "the entry of urn:fctc:party:KZ is signed by urn:fctc:party:UA")
    }

    @Test func certificatesFromAnotherRootAreRefused() throws {
        // Signed under another root: the signer does not chain.
        let foreign = refusal(try sign(try entry(pki.foreignKZ).content, pki.foreignKZ))
        #expect(foreign?.code == "directory.untrusted")
        #expect(foreign?.reason.contains("does not chain to the federation root") == true, "\(foreign?.reason ?? "")")
        // Signed properly, but publishing a transport or sealing certificate of another root.
        for (transport, sealing) in [(pki.foreignKZ.transportCertificate, nil), (nil, pki.foreignKZ.sealingCertificate)] {
            let made = try entry(pki.kz, transport: transport, sealing: sealing)
            let error = refusal(try sign(made.content, pki.kz))
            #expect(error?.code == "directory.certificate")
            #expect(error?.reason.contains("does not chain to the federation root") == true, "\(error?.reason ?? "")")
        }
    }

    @Test func embeddedCertificatesMustNameThePartyFitTheirPurposeAndBeTheSigner() throws {
        let cases: [(DirectoryEntry, String)] = [
            (try entry(pki.kz, sealing: pki.ua.sealingCertificate), "sealing certificate of urn:fctc:party:KZ's entry names urn:fctc:party:UA"),
            (try entry(pki.kz, transport: pki.kz.signingCertificate), "transport certificate of urn:fctc:party:KZ's entry does not verify"),
            (try entry(pki.kz, sealing: pki.kz.transportCertificate), "is not a sealing certificate"),
            // Another KZ signing certificate of the same root, but not the one that signed.
            (try entry(pki.kz, signing: DirectoryPKI.shared.secondKZ.signingCertificate), "but was signed with"),
        ]
        for (made, reason) in cases {
            let error = refusal(try sign(made.content, pki.kz))
            #expect(error?.code == "directory.certificate")
            #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "accepted")")
        }
        // The second KZ folder's own entry is fine: certificates are per folder, not per Party.
        let second = DirectoryPKI.shared.secondKZ
        #expect(refusal(try sign(try entry(second).content, second)) == nil)
    }

    @Test func revokedCertificatesAreRefusedByTheCRL() throws {
        let directoryPKI = DirectoryPKI.shared
        let signingRevoked = directoryPKI.revokedSigningKZ, transportRevoked = directoryPKI.revokedTransportKZ
        let bySigning = try sign(try entry(signingRevoked).content, signingRevoked)
        let byTransport = try sign(try entry(transportRevoked).content, transportRevoked)
        // Without the CRL both verify; with it, each is refused for its revoked certificate.
        #expect(refusal(bySigning) == nil && refusal(byTransport) == nil)
        let signingError = refusal(bySigning, trust: directoryPKI.trustWithCRL)
        #expect(signingError?.code == "directory.untrusted" && signingError?.reason.contains("revoked") == true, "\(String(describing: signingError))")
        let transportError = refusal(byTransport, trust: directoryPKI.trustWithCRL)
        #expect(transportError?.code == "directory.certificate" && transportError?.reason.contains("revoked") == true, "\(String(describing: transportError))")
        // An entry of a certificate that is not revoked still verifies under the CRL.
        #expect(refusal(try sign(try entry(pki.kz).content, pki.kz), trust: directoryPKI.trustWithCRL) == nil)
    }

    // MARK: - Newest version, owner

    @Test func theNewestValidVersionOfEachPartyWins() throws {
        func signed(_ folder: PartyCertificateFolder, _ party: PartyID, _ version: Int64, issued: String = Self.issued) throws -> [UInt8] {
            try sign(try entry(folder, party: party, version: version, issued: issued).content, folder)
        }
        let kz1 = try signed(pki.kz, Parties.kz, 1), kz3 = try signed(pki.kz, Parties.kz, 3), kz2 = try signed(pki.kz, Parties.kz, 2)
        let ua1 = try signed(pki.ua, Parties.ua, 1)
        let forged = try sign(try entry(pki.kz, version: 9).content, pki.ua)   // a higher version, but not KZ's signature
        let evaluation = Directory.evaluate([kz1, kz3, Array("garbage".utf8), ua1, forged, kz2, kz3], trust: trust)
        #expect(evaluation.valid.map(\.party) == [Parties.kz, Parties.ua])
        #expect(evaluation.valid.map(\.version) == [3, 1])
        #expect(evaluation.superseded.map(\.version).sorted() == [1, 2])
        #expect(evaluation.invalid.map(\.index) == [2, 4])
        #expect(evaluation.invalid.map(\.error.code) == ["directory.signature", "directory.signer"])
        try #require(evaluation.invalid.count == 2)
        #expect(evaluation.invalid[1].claimedSigner == Parties.ua.urn)
        #expect(evaluation.invalid[1].digest == SHA256.hexHash(forged))
        // The same version signed twice differently: every node picks the same one, in any order.
        let a = try signed(pki.kz, Parties.kz, 5, issued: "2026-11-24T10:00:00.000Z")
        let b = try signed(pki.kz, Parties.kz, 5, issued: "2026-11-24T11:00:00.000Z")
        for order in [[a, b], [b, a]] {
            let picked = Directory.evaluate(order, trust: trust).valid
            #expect(picked.count == 1 && picked[0].issued == "2026-11-24T11:00:00.000Z")
        }
    }

    @Test func theOwnerOfAUIMHasTheLongestMatchingPattern() throws {
        func verified(_ folder: PartyCertificateFolder, _ party: PartyID, _ patterns: [String]) throws -> VerifiedEntry {
            try Directory.verify(try sign(try entry(folder, party: party, patterns: patterns).content, folder), trust: trust)
        }
        let kz = try verified(pki.kz, Parties.kz, ["https://id.gs1.org/01/0487", "urn:epc:id:gid:95100000."])
        let ua = try verified(pki.ua, Parties.ua, ["https://id.gs1.org/01/0482", "https://id.gs1.org/01/04870999"])
        let entries = [kz, ua]
        func owner(_ uim: String, _ among: [VerifiedEntry] = entries) -> String? {
            if case .owned(let entry, _) = Directory.ownership(ofUIM: uim, among: among) { return entry.party.urn }
            return nil
        }
        // An SGTIN in EPC form is looked up in its canonical Digital Link form.
        let sgtin = "urn:epc:id:sgtin:4870123.012345.SER1"
        #expect(UIMReference.canonical(sgtin).hasPrefix("https://id.gs1.org/01/0487"))
        #expect(owner(sgtin) == Parties.kz.urn)
        #expect(owner(UIMReference.canonical(sgtin)) == Parties.kz.urn)
        // A longer pattern of UA inside KZ's prefix wins for the UIMs it covers.
        #expect(owner("https://id.gs1.org/01/04870999000011/21/X") == Parties.ua.urn)
        #expect(owner("urn:epc:id:sgtin:4820001.012345.SER") == Parties.ua.urn)
        #expect(owner("urn:epc:id:gid:95100000.12.4") == Parties.kz.urn)
        #expect(owner("https://id.gs1.org/01/05000000000017/21/X") == nil)
        #expect(owner("not a UIM") == nil)
        // The same longest pattern published by two Parties has no single owner.
        let de = try verified(pki.de, Parties.de, ["https://id.gs1.org/01/0487"])
        guard case .ambiguous(let parties, let pattern) = Directory.ownership(ofUIM: sgtin, among: [kz, ua, de]) else {
            Issue.record("expected an ambiguous owner")
            return
        }
        #expect(parties == [Parties.de, Parties.kz] && pattern == "https://id.gs1.org/01/0487")
        #expect(owner("https://id.gs1.org/01/04870999000011/21/X", [kz, ua, de]) == Parties.ua.urn)
    }
}
