import Foundation
import Testing
@testable import Crypto

@Suite struct CMSTests {
    let pki = TestPKI.shared
    let message = Array("{\"delta\":\"KZ-RU-0001\",\"events\":[]}".utf8)

    private func expectCode(_ code: String, containing text: String? = nil, _ body: () throws -> Void,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) { try body() } throws: { error in
            guard let error = error as? CryptoError else { return false }
            return error.code == code && (text.map { error.reason.contains($0) } ?? true)
        }
    }

    private func scratch() throws -> String { try TestPKI.makeTemporaryDirectory(prefix: "fedtrace-cms") }

    private func write(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    // MARK: sign and verify

    @Test func signsAndVerifiesAttachedAndDetached() throws {
        let trust = try pki.trust()
        let signer = try pki.certificate("kz/signing.pem"), key = try pki.key("kz/signing.key")
        let attached = try CMS.sign(message, signer: signer, key: key)
        let verified = try CMS.verify(attached, trust: trust, expectedSigner: "urn:fctc:party:KZ")
        #expect(verified.content == message)
        #expect(verified.signerURN == "urn:fctc:party:KZ")
        #expect(verified.signerCertificate == signer)
        #expect(abs(verified.signingTime.timeIntervalSinceNow) < 60)

        let detached = try CMS.sign(message, signer: signer, key: key, detached: true)
        #expect(try CMS.verify(detached, detachedContent: message, trust: trust).content == message)
        expectCode("crypto.cms.detached") { _ = try CMS.verify(detached, trust: trust) }
    }

    @Test func nodeSignatureVerifiesWithOpenSSL() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let signer = try pki.certificate("kz/signing.pem"), key = try pki.key("kz/signing.key")
        try write(try CMS.sign(message, signer: signer, key: key), directory + "/attached.der")
        try write(try CMS.sign(message, signer: signer, key: key, detached: true), directory + "/detached.der")
        try write(message, directory + "/content")
        let attached = try TestPKI.openssl(["cms", "-verify", "-binary", "-inform", "DER", "-in", directory + "/attached.der",
                                            "-CAfile", pki.rootAndCRLBundle(), "-crl_check"])
        #expect(attached.status == 0, "\(attached.errorText)")
        #expect(attached.output == message)
        let detached = try TestPKI.openssl(["cms", "-verify", "-binary", "-inform", "DER", "-in", directory + "/detached.der",
                                            "-content", directory + "/content", "-CAfile", pki.path("root/root.pem")])
        #expect(detached.status == 0, "\(detached.errorText)")
    }

    @Test func openSSLSignatureVerifiesInTheNode() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write(message, directory + "/content")
        for detach in [false, true] {
            let out = directory + "/signed-\(detach).der"
            let made = try TestPKI.openssl(["cms", "-sign", "-binary", "-in", directory + "/content", "-signer", pki.path("ru/signing.pem"),
                                            "-inkey", pki.path("ru/signing.key"), "-outform", "DER", "-out", out] + (detach ? [] : ["-nodetach"]))
            #expect(made.status == 0, "\(made.errorText)")
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: out)))
            let verified = try CMS.verify(bytes, detachedContent: detach ? message : nil, trust: pki.trust(), expectedSigner: "urn:fctc:party:RU")
            #expect(verified.content == message)
        }
    }

    @Test func refusesSigningWithATransportCertificate() throws {
        expectCode("crypto.cert.purpose", containing: "is not a signing certificate") {
            _ = try CMS.sign(message, signer: pki.certificate("kz/transport.pem"), key: pki.key("kz/transport.key"))
        }
        // A transport-signed object made by openssl is refused by the verifier too.
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write(message, directory + "/content")
        let made = try TestPKI.openssl(["cms", "-sign", "-binary", "-nodetach", "-in", directory + "/content", "-signer", pki.path("kz/transport.pem"),
                                        "-inkey", pki.path("kz/transport.key"), "-outform", "DER", "-out", directory + "/t.der"])
        #expect(made.status == 0)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/t.der")))
        expectCode("crypto.cert.purpose") { _ = try CMS.verify(bytes, trust: pki.trust()) }
    }

    @Test func refusesContentAlteredAfterSigning() throws {
        let trust = try pki.trust()
        let signer = try pki.certificate("kz/signing.pem"), key = try pki.key("kz/signing.key")
        var signed = try CMS.sign(message, signer: signer, key: key)
        let at = try #require(signed.firstRange(of: Array("KZ-RU-0001".utf8)))
        signed[at.lowerBound] ^= 0x01
        expectCode("crypto.cms.signature", containing: "does not verify") { _ = try CMS.verify(signed, trust: trust) }
        let detached = try CMS.sign(message, signer: signer, key: key, detached: true)
        expectCode("crypto.cms.signature") { _ = try CMS.verify(detached, detachedContent: message + [0x20], trust: trust) }
    }

    @Test func refusesTruncatedAndGarbageDER() throws {
        let signed = try CMS.sign(message, signer: pki.certificate("kz/signing.pem"), key: pki.key("kz/signing.key"))
        expectCode("crypto.cms.malformed", containing: "truncated or garbage") { _ = try CMS.verify(Array(signed.dropLast(7)), trust: pki.trust()) }
        expectCode("crypto.cms.malformed") { _ = try CMS.verify(Array(repeating: 0x41, count: 300), trust: pki.trust()) }
        expectCode("crypto.cms.malformed") { _ = try CMS.verify([], trust: pki.trust()) }
        expectCode("crypto.cms.malformed", containing: "bytes after") { _ = try CMS.verify(signed + [0, 0], trust: pki.trust()) }
    }

    @Test func refusesAValidSignatureByAnotherParty() throws {
        let signed = try CMS.sign(message, signer: pki.certificate("ru/signing.pem"), key: pki.key("ru/signing.key"))
        expectCode("crypto.cms.signer", containing: "signed by urn:fctc:party:RU, expected urn:fctc:party:KZ") {
            _ = try CMS.verify(signed, trust: pki.trust(), expectedSigner: "urn:fctc:party:KZ")
        }
    }

    @Test func refusesSignersFromAForeignCAExpiredNotYetValidOrRevoked() throws {
        let trust = try pki.trust()
        let foreign = try CMS.sign(message, signer: pki.certificate("foreign/signing.pem"), key: pki.key("foreign/signing.key"))
        expectCode("crypto.cert.foreign-ca") { _ = try CMS.verify(foreign, trust: trust) }
        let expired = try CMS.sign(message, signer: pki.certificate("expired/signing.pem"), key: pki.key("expired/signing.key"))
        expectCode("crypto.cert.expired", containing: "2021-01-01") { _ = try CMS.verify(expired, trust: trust) }
        let future = try CMS.sign(message, signer: pki.certificate("future/signing.pem"), key: pki.key("future/signing.key"))
        expectCode("crypto.cert.not-yet-valid") { _ = try CMS.verify(future, trust: trust) }
        let revoked = try CMS.sign(message, signer: pki.certificate("revoked/signing.pem"), key: pki.key("revoked/signing.key"))
        expectCode("crypto.cert.revoked") { _ = try CMS.verify(revoked, trust: trust) }
    }

    @Test func refusesASigningTimeInTheFuture() throws {
        let signed = try CMS.sign(message, signer: pki.certificate("kz/signing.pem"), key: pki.key("kz/signing.key"),
                                  detached: false, signingTime: Date().addingTimeInterval(86_400))
        expectCode("crypto.cms.signing-time", containing: "in the future") { _ = try CMS.verify(signed, trust: pki.trust()) }
    }

    // MARK: rotation

    /// The rule: a signer's certificate is checked at the CMS signing time, not now.
    @Test func objectSignedWithAnOldCertificateStillVerifiesAtItsSigningTime() throws {
        let trust = try pki.trust()
        let old = try pki.certificate("old/signing.pem"), oldKey = try pki.key("old/signing.key")
        let inWindow = ISO8601DateFormatter().date(from: "2020-06-01T12:00:00Z")!
        let signedThen = try CMS.sign(message, signer: old, key: oldKey, detached: false, signingTime: inWindow)
        let verified = try CMS.verify(signedThen, trust: trust, expectedSigner: "urn:fctc:party:KZ")
        #expect(verified.signerCertificate == old)
        #expect(verified.signingTime == inWindow)
        // The same old certificate used after its window is refused.
        let afterWindow = ISO8601DateFormatter().date(from: "2022-01-01T00:00:00Z")!
        let signedLate = try CMS.sign(message, signer: old, key: oldKey, detached: false, signingTime: afterWindow)
        expectCode("crypto.cert.expired") { _ = try CMS.verify(signedLate, trust: trust) }
    }

    @Test func rotateScriptKeepsOldCertificatesAndBothGenerationsVerify() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let folder = directory + "/party"
        try pki.script("issue-party.sh", "MN", folder, "--root", pki.path("root"))
        let before = try Certificate(contentsOf: folder + "/signing.pem")
        let signedBefore = try CMS.sign(message, signer: before, key: PrivateKey(contentsOf: folder + "/signing.key"))
        try pki.script("rotate.sh", folder, "--root", pki.path("root"))
        let archives = try FileManager.default.contentsOfDirectory(atPath: folder + "/archive")
        #expect(archives.count == 1)
        let archived = try Certificate(contentsOf: folder + "/archive/\(archives[0])/signing.pem")
        #expect(archived == before)
        let after = try Certificate(contentsOf: folder + "/signing.pem")
        #expect(after != before && after.partyURN == "urn:fctc:party:MN")
        let signedAfter = try CMS.sign(message, signer: after, key: PrivateKey(contentsOf: folder + "/signing.key"))
        #expect(try CMS.verify(signedBefore, trust: pki.trust(), expectedSigner: "urn:fctc:party:MN").signerCertificate == before)
        #expect(try CMS.verify(signedAfter, trust: pki.trust(), expectedSigner: "urn:fctc:party:MN").signerCertificate == after)
    }

    // MARK: seal and open

    @Test func sealsToManyRecipientsAndEachOpens() throws {
        let sealed = try CMS.seal(message, to: [pki.certificate("ru/sealing.pem"), pki.certificate("hub/sealing.pem")], trust: pki.trust())
        #expect(try CMS.open(sealed, certificate: pki.certificate("ru/sealing.pem"), key: pki.key("ru/sealing.key")) == message)
        #expect(try CMS.open(sealed, certificate: pki.certificate("hub/sealing.pem"), key: pki.key("hub/sealing.key")) == message)
        #expect(try CMSInspector.inspect(sealed).kind == .authEnveloped)
    }

    @Test func refusesOpeningWithAKeyThatIsNotARecipient() throws {
        let sealed = try CMS.seal(message, to: [pki.certificate("ru/sealing.pem")])
        expectCode("crypto.cms.not-recipient", containing: "urn:fctc:party:KZ") {
            _ = try CMS.open(sealed, certificate: pki.certificate("kz/sealing.pem"), key: pki.key("kz/sealing.key"))
        }
    }

    @Test func refusesSealingToASigningCertificate() throws {
        expectCode("crypto.cert.purpose", containing: "is not a sealing certificate") {
            _ = try CMS.seal(message, to: [pki.certificate("ru/signing.pem")])
        }
        expectCode("crypto.cert.foreign-ca") {
            _ = try CMS.seal(message, to: [pki.certificate("foreign/sealing.pem")], trust: pki.trust())
        }
    }

    @Test func refusesAlteredCiphertext() throws {
        var sealed = try CMS.seal(message, to: [pki.certificate("ru/sealing.pem")])
        sealed[sealed.count - 20] ^= 0x80   // inside the GCM tag or ciphertext
        #expect { try CMS.open(sealed, certificate: pki.certificate("ru/sealing.pem"), key: pki.key("ru/sealing.key")) } throws: { error in
            let code = (error as? CryptoError)?.code
            return code == "crypto.cms.decrypt" || code == "crypto.cms.malformed"
        }
    }

    @Test func nodeSealedObjectOpensWithOpenSSL() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let delta = try CMS.signAndSeal(message, signer: pki.certificate("kz/signing.pem"), key: pki.key("kz/signing.key"),
                                        to: [pki.certificate("ru/sealing.pem"), pki.certificate("hub/sealing.pem")], trust: pki.trust())
        try write(delta, directory + "/delta.der")
        let printed = try TestPKI.openssl(["cms", "-cmsout", "-print", "-inform", "DER", "-in", directory + "/delta.der"])
        let structure = String(decoding: printed.output, as: UTF8.self)
        #expect(structure.contains("id-smime-ct-authEnvelopedData"))
        #expect(structure.contains("dhSinglePass-stdDH-sha256kdf-scheme"))
        #expect(structure.contains("aes-256-gcm") || structure.contains("id-aes256-GCM"))
        let opened = try TestPKI.openssl(["cms", "-decrypt", "-binary", "-inform", "DER", "-in", directory + "/delta.der",
                                          "-recip", pki.path("ru/sealing.pem"), "-inkey", pki.path("ru/sealing.key"), "-out", directory + "/signed.der"])
        #expect(opened.status == 0, "\(opened.errorText)")
        let verified = try TestPKI.openssl(["cms", "-verify", "-binary", "-inform", "DER", "-in", directory + "/signed.der",
                                            "-CAfile", pki.path("root/root.pem")])
        #expect(verified.status == 0, "\(verified.errorText)")
        #expect(verified.output == message)
        // And the node's own inverse, as the receiving Party.
        let received = try CMS.openAndVerify(delta, certificate: pki.certificate("ru/sealing.pem"), key: pki.key("ru/sealing.key"),
                                             trust: pki.trust(), expectedSigner: "urn:fctc:party:KZ")
        #expect(received.content == message)
    }

    /// Large payloads go through the reserved-buffer path (CMS_final into a pre-sized BIO).
    @Test func largePayloadRoundTripsAndInteroperates() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let payload = try SecureRandom.bytes((1 << 20) + 3)
        let delta = try CMS.signAndSeal(payload, signer: pki.certificate("kz/signing.pem"), key: pki.key("kz/signing.key"),
                                        to: [pki.certificate("ru/sealing.pem")])
        let received = try CMS.openAndVerify(delta, certificate: pki.certificate("ru/sealing.pem"), key: pki.key("ru/sealing.key"),
                                             trust: pki.trust(), expectedSigner: "urn:fctc:party:KZ")
        #expect(received.content == payload)
        try write(delta, directory + "/delta.der")
        let opened = try TestPKI.openssl(["cms", "-decrypt", "-binary", "-inform", "DER", "-in", directory + "/delta.der",
                                          "-recip", pki.path("ru/sealing.pem"), "-inkey", pki.path("ru/sealing.key"), "-out", directory + "/signed.der"])
        #expect(opened.status == 0, "\(opened.errorText)")
        let verified = try TestPKI.openssl(["cms", "-verify", "-binary", "-inform", "DER", "-in", directory + "/signed.der",
                                            "-CAfile", pki.path("root/root.pem"), "-out", directory + "/content"])
        #expect(verified.status == 0, "\(verified.errorText)")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/content"))) == payload)
    }

    @Test func openSSLSealedObjectsOpenInTheNode() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write(message, directory + "/content")
        for cipher in ["-aes-256-gcm", "-aes-256-cbc"] {
            let out = directory + "/sealed\(cipher).der"
            let made = try TestPKI.openssl(["cms", "-encrypt", "-binary", cipher, "-in", directory + "/content", "-outform", "DER",
                                            "-out", out, "-recip", pki.path("ru/sealing.pem"), "-keyopt", "ecdh_kdf_md:sha256"])
            #expect(made.status == 0, "\(made.errorText)")
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: out)))
            #expect(try CMS.open(bytes, certificate: pki.certificate("ru/sealing.pem"), key: pki.key("ru/sealing.key")) == message)
            #expect(try CMSInspector.inspect(bytes).kind == (cipher == "-aes-256-gcm" ? .authEnveloped : .enveloped))
        }
    }
}
