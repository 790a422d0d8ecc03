import Foundation
import Testing
import Crypto
@testable import CLI

/// `fedtrace init --certs` and `fedtrace verify`, with a PKI made by the Certs/ scripts.
@Suite(.serialized) struct CertificateCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs a Certs/ script; fails the test with its output if it fails.
    static func certs(_ script: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repository.appendingPathComponent("Certs/\(script)").path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus != 0 { throw NSError(domain: "Certs", code: Int(process.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "\(script): \(text)"]) }
    }

    func pki(_ cli: CLIHarness) throws -> (root: String, kz: String, ua: String, foreign: String) {
        try Self.certs("make-root.sh", ["--root", cli.path("root")])
        try Self.certs("issue-party.sh", ["KZ", cli.path("kz"), "--root", cli.path("root")])
        try Self.certs("issue-party.sh", ["UA", cli.path("ua"), "--root", cli.path("root")])
        try Self.certs("make-root.sh", ["--root", cli.path("other-root"), "--name", "Not the federation"])
        try Self.certs("issue-party.sh", ["KZ", cli.path("foreign"), "--root", cli.path("other-root")])
        return (cli.path("root"), cli.path("kz"), cli.path("ua"), cli.path("foreign"))
    }

    @Test func initInstallsAFolderOnlyAfterCheckingIt() throws {
        let cli = try CLIHarness()
        let pki = try pki(cli)
        // A folder for another Party: refused, nothing created.
        let wrong = cli.run("init", "--party", "KZ", "--data", cli.path("n1"), "--certs", pki.ua)
        #expect(wrong.status == 1)
        #expect(wrong.err.contains("urn:fctc:party:UA") && wrong.err.contains("expected urn:fctc:party:KZ"), "\(wrong.err)")
        #expect(!FileManager.default.fileExists(atPath: cli.path("n1")))
        // A folder from a foreign CA, pinned to the real federation root: refused.
        let foreign = cli.run("init", "--party", "KZ", "--data", cli.path("n2"), "--certs", pki.foreign, "--root", pki.root + "/root.pem")
        #expect(foreign.status == 1)
        #expect(foreign.err.contains("not the federation root"), "\(foreign.err)")
        #expect(!FileManager.default.fileExists(atPath: cli.path("n2")))
        // A key readable by others: refused, naming the file.
        chmod(pki.kz + "/signing.key", 0o644)
        let loose = cli.run("init", "--party", "KZ", "--data", cli.path("n3"), "--certs", pki.kz)
        #expect(loose.status == 1)
        #expect(loose.err.contains("signing.key"), "\(loose.err)")
        chmod(pki.kz + "/signing.key", 0o600)
        // The right folder: installed, keys 0600, audited.
        let good = cli.run("init", "--party", "KZ", "--data", cli.path("kz-node"), "--certs", pki.kz, "--root", pki.root + "/root.pem")
        #expect(good.status == 0, "\(good.err)")
        var info = stat()
        #expect(stat(cli.path("kz-node/certs/signing.key"), &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(cli.run("audit", "list", "--data", cli.path("kz-node")).out.contains("certificates"))
    }

    @Test func verifyChecksWhatTheNodeAndOpenSSLMake() throws {
        let cli = try CLIHarness()
        let pki = try pki(cli)
        #expect(cli.run("init", "--party", "UA", "--data", cli.path("ua-node"), "--certs", pki.ua).status == 0)
        let kzSigning = try Certificate(contentsOf: pki.kz + "/signing.pem")
        let kzKey = try PrivateKey(contentsOf: pki.kz + "/signing.key")
        let uaSealing = try Certificate(contentsOf: pki.ua + "/sealing.pem")
        let payload = Array("a delta".utf8)

        let signed = try cli.write("signed.der", try CMS.sign(payload, signer: kzSigning, key: kzKey))
        let result = cli.run("verify", signed, "--root", pki.root + "/root.pem", "--json")
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains(#""signer":"urn:fctc:party:KZ""#))
        #expect(result.out.contains(#""contentBytes":7"#))

        let sealed = try cli.write("sealed.der", try CMS.signAndSeal(payload, signer: kzSigning, key: kzKey, to: [uaSealing]))
        let closed = cli.run("verify", sealed, "--data", cli.path("ua-node"))
        #expect(closed.status == 0)
        #expect(closed.out.contains("sealed") && closed.out.contains("urn:fctc:party:UA"))
        let opened = cli.run("verify", sealed, "--data", cli.path("ua-node"), "--open")
        #expect(opened.status == 0, "\(opened.err)")
        #expect(opened.out.contains("signer: urn:fctc:party:KZ"))

        // Tampered: one byte of the signed content changed.
        var bytes = try CMS.sign(payload, signer: kzSigning, key: kzKey)
        if let at = bytes.firstIndex(of: UInt8(ascii: "d")) { bytes[at] = UInt8(ascii: "D") }
        let tampered = cli.run("verify", try cli.write("tampered.der", bytes), "--root", pki.root + "/root.pem")
        #expect(tampered.status == 1)
        #expect(tampered.err.split(separator: "\n").count == 1)
        // Garbage and a foreign root.
        #expect(cli.run("verify", try cli.write("garbage.der", [0x30, 0x03, 0x01, 0x02]), "--root", pki.root + "/root.pem").status == 1)
        let foreign = cli.run("verify", signed, "--root", cli.path("other-root/root.pem"))
        #expect(foreign.status == 1)
        #expect(cli.run("verify", signed).status == 2, "needs --data or --root")
    }
}
