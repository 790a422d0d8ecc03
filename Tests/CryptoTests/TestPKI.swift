import Foundation
@testable import Crypto

/// A throw-away federation PKI made once per test run, in a fresh temp directory, by the
/// `Certs/` scripts themselves — so the scripts are tested by every run.
///
/// Layout under `directory`: `root/` (federation root CA, its crl.pem lists `revoked/`),
/// `kz/`, `ru/`, `hub/` (valid folders), `expired/`, `future/` (KZ, outside validity),
/// `revoked/` (KZ, revoked), `old/` (KZ, valid 2020 only, for rotation),
/// `foreign-root/` and `foreign/` (a KZ folder from another CA).
final class TestPKI: Sendable {
    static let shared: TestPKI = {
        do { return try TestPKI() } catch { fatalError("cannot build the test PKI: \(error)") }
    }()

    let directory: String

    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }   // Tests/CryptoTests/TestPKI.swift → repo root
        return url.path
    }()

    private init() throws {
        directory = try Self.makeTemporaryDirectory(prefix: "fedtrace-pki")
        cleanupAtExit(directory)
        // Back-dated so the 2020 "old" certificates chain to a root valid at their signing time.
        try script("make-root.sh", "--root", path("root"), "--start", "20190101000000Z", "--days", "5000")
        try script("issue-party.sh", "KZ", path("kz"), "--root", path("root"))
        try script("issue-party.sh", "RU", path("ru"), "--root", path("root"))
        try script("issue-hub.sh", "gsp", path("hub"), "--root", path("root"))
        try script("issue-party.sh", "KZ", path("expired"), "--root", path("root"), "--start", "20200101000000Z", "--end", "20210101000000Z")
        try script("issue-party.sh", "KZ", path("future"), "--root", path("root"), "--start", "20300101000000Z", "--end", "20310101000000Z")
        try script("issue-party.sh", "KZ", path("old"), "--root", path("root"), "--start", "20200101000000Z", "--end", "20210101000000Z")
        try script("issue-party.sh", "KZ", path("revoked"), "--root", path("root"))
        try script("revoke.sh", path("revoked/signing.pem"), "--root", path("root"), "--reason", "keyCompromise")
        try script("make-root.sh", "--root", path("foreign-root"), "--name", "Not the federation")
        try script("issue-party.sh", "KZ", path("foreign"), "--root", path("foreign-root"))
    }

    /// An absolute path inside the PKI directory.
    func path(_ relative: String) -> String { directory + "/" + relative }

    func certificate(_ relative: String) throws -> Certificate { try Certificate(contentsOf: path(relative)) }

    func key(_ relative: String) throws -> PrivateKey { try PrivateKey(contentsOf: path(relative)) }

    /// The federation root with its current CRL (which lists `revoked/signing.pem`).
    /// root.pem followed by crl.pem, the form `openssl cms -verify -CAfile F -crl_check` takes.
    func rootAndCRLBundle() throws -> String {
        let bundle = path("root-and-crl.pem")
        if !FileManager.default.fileExists(atPath: bundle) {
            let data = try Data(contentsOf: URL(fileURLWithPath: path("root/root.pem"))) + Data(contentsOf: URL(fileURLWithPath: path("root/crl.pem")))
            try data.write(to: URL(fileURLWithPath: bundle), options: .atomic)
        }
        return bundle
    }

    func trust() throws -> TrustStore { try TrustStore(rootFile: path("root/root.pem"), crlFile: path("root/crl.pem")) }

    /// Runs one of the Certs/ scripts; throws with its stderr when it fails.
    func script(_ name: String, _ arguments: String...) throws {
        let result = try Self.run(Self.repositoryRoot + "/Certs/" + name, arguments)
        guard result.status == 0 else { throw TestFailure("\(name) \(arguments): \(result.errorText)") }
    }

    static func makeTemporaryDirectory(prefix: String) throws -> String {
        var template = Array((NSTemporaryDirectory() + "/\(prefix)-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        return String(cString: made)
    }

    struct Output { var status: Int32; var output: [UInt8]; var errorText: String }

    /// Runs a program with optional standard input, collecting both outputs.
    static func run(_ program: String, _ arguments: [String], input: [UInt8]? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe(), stdin = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = stdin
        try process.run()
        let writer = Thread { [input] in
            if let input { stdin.fileHandleForWriting.write(Data(input)) }
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let errorData = ErrorBox()
        let done = DispatchSemaphore(value: 0)
        let errorReader = Thread {
            errorData.set(errors.fileHandleForReading.readDataToEndOfFile())
            done.signal()
        }
        errorReader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        done.wait()
        return Output(status: process.terminationStatus, output: Array(outputData), errorText: String(decoding: errorData.get(), as: UTF8.self))
    }

    /// Runs `openssl ARGS` (found on PATH).
    static func openssl(_ arguments: [String], input: [UInt8]? = nil) throws -> Output {
        try run("/usr/bin/env", ["openssl"] + arguments, input: input)
    }
}

/// Standard error collected on another thread; the lock makes the hand-over safe.
private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

nonisolated(unsafe) private var directoriesToRemove: [String] = []

/// Removes `directory` when the test process exits (the PKI holds private keys).
private func cleanupAtExit(_ directory: String) {
    directoriesToRemove.append(directory)
    if directoriesToRemove.count == 1 {
        atexit { for directory in directoriesToRemove { try? FileManager.default.removeItem(atPath: directory) } }
    }
}
