import Foundation
import Testing
@testable import Crypto

@Suite struct CRLTests {
    let pki = TestPKI.shared

    @Test func listsTheRevokedCertificate() throws {
        let crl = try CRL(contentsOf: pki.path("root/crl.pem"))
        let revoked = try pki.certificate("revoked/signing.pem")
        #expect(crl.revokedSerialNumbers.contains(revoked.serialNumber))
        #expect(crl.revocationDate(of: revoked) != nil)
        #expect(crl.revocationDate(of: try pki.certificate("kz/signing.pem")) == nil)
        #expect(crl.isSigned(by: try pki.certificate("root/root.pem")))
    }

    @Test func emptyCRLIsAccepted() throws {
        // The foreign root has revoked nothing: its CRL is empty, and valid under its own root.
        let crl = try CRL(contentsOf: pki.path("foreign-root/crl.pem"))
        #expect(crl.revokedSerialNumbers.isEmpty)
        _ = try TrustStore(rootFile: pki.path("foreign-root/root.pem"), crlFile: pki.path("foreign-root/crl.pem"))
        // kz/crl.pem was copied before anything was revoked: empty, signed by the federation root.
        _ = try TrustStore(rootFile: pki.path("root/root.pem"), crlFile: pki.path("kz/crl.pem"))
    }

    @Test func crlSignedByAnotherCAIsRefused() throws {
        #expect { try TrustStore(rootFile: pki.path("root/root.pem"), crlFile: pki.path("foreign-root/crl.pem")) } throws: { error in
            let error = error as? CryptoError
            return error?.code == "crypto.crl.foreign-ca" && error?.reason.contains("foreign-root/crl.pem") == true
        }
    }

    @Test func derCRLAndGarbage() throws {
        let der = try TestPKI.openssl(["crl", "-in", pki.path("root/crl.pem"), "-outform", "DER"])
        #expect(try CRL(bytes: der.output).revokedSerialNumbers.count == 1)
        #expect { try CRL(bytes: Array(der.output.prefix(40))) } throws: { ($0 as? CryptoError)?.code == "crypto.crl.malformed" }
    }
}
