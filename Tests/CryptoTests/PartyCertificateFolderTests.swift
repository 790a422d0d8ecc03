import Foundation
import Testing
@testable import Crypto

@Suite struct PartyCertificateFolderTests {
    let pki = TestPKI.shared

    /// A private copy of a PKI folder the test may break.
    private func copy(_ folder: String) throws -> (directory: String, folder: String) {
        let directory = try TestPKI.makeTemporaryDirectory(prefix: "fedtrace-folder")
        let target = directory + "/certs"
        try FileManager.default.copyItem(atPath: pki.path(folder), toPath: target)
        return (directory, target)
    }

    private func expectCode(_ code: String, containing texts: [String], _ body: () throws -> Void,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) { try body() } throws: { error in
            guard let error = error as? CryptoError else { return false }
            return error.code == code && texts.allSatisfy { error.reason.contains($0) }
        }
    }

    @Test func loadsAValidFolder() throws {
        let folder = try PartyCertificateFolder.load(from: pki.path("kz"), expectedParty: "urn:fctc:party:KZ")
        #expect(folder.partyURN == "urn:fctc:party:KZ")
        #expect(folder.signingKey.matches(folder.signingCertificate))
        let hub = try PartyCertificateFolder.load(from: pki.path("hub"), expectedParty: "urn:fctc:hub:gsp")
        #expect(hub.sealingCertificate.isSuitable(for: .sealing))
    }

    @Test func refusesAFolderForAnotherParty() throws {
        expectCode("crypto.folder.party", containing: ["ru/transport.pem", "urn:fctc:party:RU", "expected urn:fctc:party:KZ"]) {
            _ = try PartyCertificateFolder.load(from: pki.path("ru"), expectedParty: "urn:fctc:party:KZ")
        }
    }

    @Test func refusesExpiredForeignAndRevokedFolders() throws {
        expectCode("crypto.cert.expired", containing: ["expired/transport.pem"]) {
            _ = try PartyCertificateFolder.load(from: pki.path("expired"), expectedParty: "urn:fctc:party:KZ")
        }
        // foreign/ is self-consistent under the root it ships; only the federation root refuses it.
        _ = try PartyCertificateFolder.load(from: pki.path("foreign"), expectedParty: "urn:fctc:party:KZ")
        expectCode("crypto.cert.foreign-ca", containing: ["foreign/root.pem", "not the federation root"]) {
            _ = try PartyCertificateFolder.load(from: pki.path("foreign"), expectedParty: "urn:fctc:party:KZ",
                                                federationRoot: pki.certificate("root/root.pem"))
        }
        let revoked = try copy("revoked")
        defer { try? FileManager.default.removeItem(atPath: revoked.directory) }
        try FileManager.default.removeItem(atPath: revoked.folder + "/crl.pem")
        try FileManager.default.copyItem(atPath: pki.path("root/crl.pem"), toPath: revoked.folder + "/crl.pem")
        expectCode("crypto.cert.revoked", containing: ["signing.pem"]) {
            _ = try PartyCertificateFolder.load(from: revoked.folder, expectedParty: "urn:fctc:party:KZ")
        }
    }

    @Test func namesAMissingOrLooseFile() throws {
        let copied = try copy("kz")
        defer { try? FileManager.default.removeItem(atPath: copied.directory) }
        chmod(copied.folder + "/sealing.key", 0o644)
        expectCode("crypto.key.permissions", containing: ["certs/sealing.key", "chmod 0600"]) {
            _ = try PartyCertificateFolder.load(from: copied.folder, expectedParty: "urn:fctc:party:KZ")
        }
        try FileManager.default.removeItem(atPath: copied.folder + "/signing.pem")
        expectCode("crypto.file.unreadable", containing: ["certs/signing.pem"]) {
            _ = try PartyCertificateFolder.load(from: copied.folder, expectedParty: "urn:fctc:party:KZ")
        }
    }

    @Test func refusesAKeyThatDoesNotMatchAndACRLFromAnotherCA() throws {
        let copied = try copy("kz")
        defer { try? FileManager.default.removeItem(atPath: copied.directory) }
        try FileManager.default.removeItem(atPath: copied.folder + "/signing.key")
        try FileManager.default.copyItem(atPath: pki.path("ru/signing.key"), toPath: copied.folder + "/signing.key")
        expectCode("crypto.key.mismatch", containing: ["certs/signing.key"]) {
            _ = try PartyCertificateFolder.load(from: copied.folder, expectedParty: "urn:fctc:party:KZ")
        }
        try FileManager.default.removeItem(atPath: copied.folder + "/crl.pem")
        try FileManager.default.copyItem(atPath: pki.path("foreign-root/crl.pem"), toPath: copied.folder + "/crl.pem")
        expectCode("crypto.crl.foreign-ca", containing: ["certs/crl.pem", "not signed by the federation root"]) {
            _ = try PartyCertificateFolder.load(from: copied.folder, expectedParty: "urn:fctc:party:KZ")
        }
    }

    @Test func installsAtomicallyWithPrivateKeys() throws {
        let directory = try TestPKI.makeTemporaryDirectory(prefix: "fedtrace-install")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let folder = try PartyCertificateFolder.load(from: pki.path("kz"), expectedParty: "urn:fctc:party:KZ")
        let target = directory + "/node/certs"
        try FileManager.default.createDirectory(atPath: directory + "/node", withIntermediateDirectories: false)
        try folder.install(into: target)
        for name in PartyCertificateFolder.fileNames {
            let mode = try #require(FileManager.default.attributesOfItem(atPath: target + "/" + name)[.posixPermissions] as? Int)
            #expect(mode == (name.hasSuffix(".key") ? 0o600 : 0o644), "\(name)")
        }
        _ = try PartyCertificateFolder.load(from: target, expectedParty: "urn:fctc:party:KZ")

        // A second install onto the now non-empty folder is refused and leaves no staging directory.
        #expect { try folder.install(into: target) } throws: { ($0 as? CryptoError)?.reason.contains("not empty; nothing was installed") == true }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/node") == ["certs"])
    }

    @Test func failedInstallLeavesNothing() throws {
        let directory = try TestPKI.makeTemporaryDirectory(prefix: "fedtrace-install")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let copied = try copy("kz")
        defer { try? FileManager.default.removeItem(atPath: copied.directory) }
        let folder = try PartyCertificateFolder.load(from: copied.folder, expectedParty: "urn:fctc:party:KZ")
        try FileManager.default.removeItem(atPath: copied.folder + "/sealing.key")   // vanishes before install
        #expect { try folder.install(into: directory + "/certs") } throws: { ($0 as? CryptoError)?.code == "crypto.file.unreadable" }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}
