import Foundation
import Testing
@testable import Crypto

@Suite struct CMSInspectorTests {
    let pki = TestPKI.shared

    @Test func describesSignedData() throws {
        let signed = try CMS.sign(Array("payload".utf8), signer: pki.certificate("kz/signing.pem"), key: pki.key("kz/signing.key"))
        let description = try CMSInspector.inspect(signed)
        #expect(description.kind == .signed)
        #expect(!description.isDetached)
        #expect(description.contentLength == 7)
        #expect(description.signers.count == 1)
        #expect(description.signers[0].partyURN == "urn:fctc:party:KZ")
        #expect(description.signers[0].signingTime != nil)
        #expect(!description.description.contains("payload"))
    }

    @Test func describesSealedDataWithRecipientsNamedByKnownCertificates() throws {
        let recipients = [try pki.certificate("ru/sealing.pem"), try pki.certificate("hub/sealing.pem")]
        let sealed = try CMS.seal(Array("secret".utf8), to: recipients)
        let anonymous = try CMSInspector.inspect(sealed)
        #expect(anonymous.kind == .authEnveloped)
        // RecipientInfos is a DER SET OF: the order is the encoding's, not the caller's.
        #expect(Set(anonymous.recipients.compactMap(\.serialNumber)) == Set(recipients.map(\.serialNumber)))
        let named = try CMSInspector.inspect(sealed, knownCertificates: recipients)
        #expect(Set(named.recipients.compactMap(\.partyURN)) == ["urn:fctc:party:RU", "urn:fctc:hub:gsp"])
        #expect(named.recipients.allSatisfy { $0.method == "key-agreement" })
    }

    @Test func acceptsPEMAndRefusesGarbage() throws {
        let signed = try CMS.sign(Array("x".utf8), signer: pki.certificate("kz/signing.pem"), key: pki.key("kz/signing.key"))
        let pem = try TestPKI.openssl(["cms", "-cmsout", "-inform", "DER", "-outform", "PEM"], input: signed)
        #expect(try CMSInspector.inspect(pem.output).kind == .signed)
        #expect { try CMSInspector.inspect(Array("garbage".utf8)) } throws: { ($0 as? CryptoError)?.code == "crypto.cms.malformed" }
    }
}
