import Foundation
import Testing
@testable import Crypto

@Suite struct PrivateKeyTests {
    let pki = TestPKI.shared

    @Test func loadsA0600KeyThatMatchesItsCertificate() throws {
        let key = try pki.key("kz/signing.key")
        #expect(key.matches(try pki.certificate("kz/signing.pem")))
        #expect(!key.matches(try pki.certificate("kz/sealing.pem")))
        #expect(key.description.contains("EC"))
    }

    @Test func refusesAKeyFileReadableByOthers() throws {
        let directory = try TestPKI.makeTemporaryDirectory(prefix: "fedtrace-key")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/signing.key"
        try FileManager.default.copyItem(atPath: pki.path("kz/signing.key"), toPath: path)
        chmod(path, 0o644)
        #expect { try PrivateKey(contentsOf: path) } throws: { error in
            let error = error as? CryptoError
            return error?.code == "crypto.key.permissions" && error?.reason.contains(path) == true && error?.reason.contains("644") == true
        }
        chmod(path, 0o600)
        _ = try PrivateKey(contentsOf: path)
    }

    @Test func encryptedKeyNeedsTheRightPassword() throws {
        let directory = try TestPKI.makeTemporaryDirectory(prefix: "fedtrace-key")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/sealing.key"
        let made = try TestPKI.openssl(["pkey", "-in", pki.path("kz/sealing.key"), "-aes-256-cbc", "-passout", "pass:correct horse", "-out", path])
        #expect(made.status == 0)
        chmod(path, 0o600)
        let key = try PrivateKey(contentsOf: path, password: "correct horse")
        #expect(key.matches(try pki.certificate("kz/sealing.pem")))
        #expect { try PrivateKey(contentsOf: path, password: "wrong") } throws: { error in
            let error = error as? CryptoError
            return error?.code == "crypto.key.password" && error?.reason.contains("wrong password") == true && error?.reason.contains(path) == true
        }
        #expect { try PrivateKey(contentsOf: path) } throws: { ($0 as? CryptoError)?.reason.contains("no password") == true }
    }

    @Test func loadsDERAndRefusesGarbage() throws {
        let der = try TestPKI.openssl(["pkey", "-in", pki.path("kz/signing.key"), "-outform", "DER"])
        var bytes = der.output
        defer { cleanse(&bytes) }
        #expect(try PrivateKey(bytes: bytes).matches(try pki.certificate("kz/signing.pem")))
        #expect { try PrivateKey(bytes: Array("not a key".utf8)) } throws: { ($0 as? CryptoError)?.code == "crypto.key.malformed" }
    }
}
