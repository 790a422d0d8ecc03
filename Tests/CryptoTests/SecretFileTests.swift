import Foundation
import Testing
@testable import Crypto

@Suite struct SecretFileTests {
    func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fedtrace-secret-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func createReadAndRefuseToOverwrite() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/k"
        try SecretFile.create(path, [1, 2, 3])
        #expect(try SecretFile.read(path) == [1, 2, 3])
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
        #expect { try SecretFile.create(path, [9]) } throws: { ($0 as? CryptoError)?.code == "crypto.secret.exists" }
        #expect(try SecretFile.read(path) == [1, 2, 3], "the existing secret is untouched")
    }

    @Test func readRefusesLooseModesLinksAndOtherOwners() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/k"
        try SecretFile.create(path, [7])
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        #expect { try SecretFile.read(path) } throws: { ($0 as? CryptoError)?.code == "crypto.key.permissions" }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: path)
        #expect { try SecretFile.read(folder + "/link") } throws: { ($0 as? CryptoError)?.code == "crypto.secret.unreadable" }
        if geteuid() == 0 {
            #expect(chown(path, 65534, 65534) == 0)
            #expect { try SecretFile.read(path) } throws: { ($0 as? CryptoError)?.code == "crypto.key.permissions" }
        }
    }

    @Test func installPutsAFileInPlaceWithoutReplacing() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try SecretFile.create(folder + "/a.pending", [1])
        try SecretFile.install(folder + "/a.pending", as: folder + "/a")
        #expect(!SecretFile.exists(folder + "/a.pending"))
        #expect(try SecretFile.read(folder + "/a") == [1])
        try SecretFile.create(folder + "/b.pending", [2])
        #expect { try SecretFile.install(folder + "/b.pending", as: folder + "/a") } throws: { ($0 as? CryptoError)?.code == "crypto.secret.exists" }
        #expect(try SecretFile.read(folder + "/a") == [1])
    }
}
