import Foundation
import Testing
@testable import Crypto

@Suite struct TrustStoreTests {
    let pki = TestPKI.shared

    @Test func verifiesEachPurposeOfAValidParty() throws {
        let trust = try pki.trust()
        #expect(try trust.verify(pki.certificate("kz/transport.pem"), purpose: .transport) == "urn:fctc:party:KZ")
        #expect(try trust.verify(pki.certificate("kz/signing.pem"), purpose: .signing) == "urn:fctc:party:KZ")
        #expect(try trust.verify(pki.certificate("kz/sealing.pem"), purpose: .sealing) == "urn:fctc:party:KZ")
        #expect(try trust.verify(pki.certificate("hub/transport.pem"), purpose: .transport) == "urn:fctc:hub:gsp")
    }

    @Test func refusesAForeignCA() throws {
        #expect { try pki.trust().verify(pki.certificate("foreign/signing.pem"), purpose: .signing) } throws: { error in
            let error = error as? CryptoError
            return error?.code == "crypto.cert.foreign-ca" && error?.reason.contains("Not the federation") == true
        }
    }

    @Test func refusesExpiredWithTheDate() throws {
        #expect { try pki.trust().verify(pki.certificate("expired/signing.pem"), purpose: .signing) } throws: { error in
            let error = error as? CryptoError
            return error?.code == "crypto.cert.expired" && error?.reason.contains("expired on 2021-01-01T00:00:00Z") == true
        }
    }

    @Test func refusesNotYetValid() throws {
        #expect { try pki.trust().verify(pki.certificate("future/signing.pem"), purpose: .signing) } throws: { error in
            let error = error as? CryptoError
            return error?.code == "crypto.cert.not-yet-valid" && error?.reason.contains("2030-01-01T00:00:00Z") == true
        }
        // ... and accepts it at a time inside its window.
        let inside = ISO8601DateFormatter().date(from: "2030-06-01T00:00:00Z")!
        #expect(try pki.trust().verify(pki.certificate("future/signing.pem"), purpose: .signing, at: inside) == "urn:fctc:party:KZ")
    }

    @Test func refusesRevokedEvenInThePast() throws {
        let revoked = try pki.certificate("revoked/signing.pem")
        #expect { try pki.trust().verify(revoked, purpose: .signing) } throws: { ($0 as? CryptoError)?.code == "crypto.cert.revoked" }
        #expect { try pki.trust().verify(revoked, purpose: .signing, at: revoked.notBefore.addingTimeInterval(1)) } throws: {
            ($0 as? CryptoError)?.code == "crypto.cert.revoked"
        }
        // Without the CRL the same certificate passes: the refusal comes from the CRL.
        let withoutCRL = try TrustStore(rootFile: pki.path("root/root.pem"))
        #expect(try withoutCRL.verify(revoked, purpose: .signing) == "urn:fctc:party:KZ")
    }

    @Test func refusesTheWrongPurpose() throws {
        let trust = try pki.trust()
        #expect { try trust.verify(pki.certificate("kz/transport.pem"), purpose: .signing) } throws: { error in
            let error = error as? CryptoError
            return error?.code == "crypto.cert.purpose" && error?.reason.contains("is not a signing certificate") == true
        }
        #expect { try trust.verify(pki.certificate("kz/signing.pem"), purpose: .sealing) } throws: { error in
            let error = error as? CryptoError
            return error?.code == "crypto.cert.purpose" && error?.reason.contains("is not a sealing certificate") == true
        }
        #expect { try trust.verify(pki.certificate("kz/sealing.pem"), purpose: .transport) } throws: { ($0 as? CryptoError)?.code == "crypto.cert.purpose" }
        #expect { try trust.verify(pki.certificate("root/root.pem"), purpose: .signing) } throws: { ($0 as? CryptoError)?.code == "crypto.cert.purpose" }
    }
}
