import Foundation
import Testing
@testable import Crypto

@Suite struct CertificateTests {
    let pki = TestPKI.shared

    @Test func readsIdentityValidityAndPurposeFromAPartyCertificate() throws {
        let signing = try pki.certificate("kz/signing.pem")
        #expect(signing.partyURN == "urn:fctc:party:KZ")
        #expect(signing.subjectAlternativeURIs == ["urn:fctc:party:KZ"])
        #expect(signing.notBefore < Date() && Date() < signing.notAfter)
        #expect(signing.isSuitable(for: .signing))
        #expect(!signing.isSuitable(for: .transport))
        #expect(!signing.isSuitable(for: .sealing))
        #expect(try pki.certificate("kz/transport.pem").isSuitable(for: .transport))
        #expect(try pki.certificate("kz/sealing.pem").isSuitable(for: .sealing))
        #expect(try pki.certificate("hub/signing.pem").partyURN == "urn:fctc:hub:gsp")
        #expect(signing.fingerprintSHA256.count == 64)
        #expect(!signing.description.contains("BEGIN"))
    }

    @Test func derAndPEMRoundTripAndAgreeWithOpenSSL() throws {
        let signing = try pki.certificate("kz/signing.pem")
        let der = signing.derBytes
        #expect(try Certificate(derEncoded: der) == signing)
        #expect(try Certificate(bytes: Array(signing.pemString.utf8)) == signing)
        let serial = try TestPKI.openssl(["x509", "-in", pki.path("kz/signing.pem"), "-noout", "-serial"])
        #expect(String(decoding: serial.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "serial=\(signing.serialNumber)")
        let fingerprint = try TestPKI.openssl(["x509", "-in", pki.path("kz/signing.pem"), "-noout", "-fingerprint", "-sha256"])
        let expected = String(decoding: fingerprint.output, as: UTF8.self).split(separator: "=").last!
            .replacingOccurrences(of: ":", with: "").lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(signing.fingerprintSHA256 == expected)
    }

    @Test func refusesGarbageTruncatedAndTrailingDER() throws {
        let der = try pki.certificate("kz/signing.pem").derBytes
        #expect { try Certificate(derEncoded: Array(der.prefix(100))) } throws: { ($0 as? CryptoError)?.code == "crypto.cert.malformed" }
        #expect { try Certificate(derEncoded: der + [0]) } throws: { ($0 as? CryptoError)?.reason.contains("1 bytes after") == true }
        #expect { try Certificate(bytes: Array("hello".utf8)) } throws: { ($0 as? CryptoError)?.code == "crypto.cert.malformed" }
        #expect { try Certificate(bytes: []) } throws: { ($0 as? CryptoError)?.code == "crypto.cert.malformed" }
    }

    @Test func missingFileIsNamed() throws {
        let missing = pki.path("nowhere/signing.pem")
        #expect { try Certificate(contentsOf: missing) } throws: { error in
            let error = error as? CryptoError
            return error?.code == "crypto.file.unreadable" && error?.reason.contains(missing) == true
        }
    }
}
