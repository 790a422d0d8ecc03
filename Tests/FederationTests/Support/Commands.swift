import Foundation
import Testing
import Model
#if canImport(Glibc)
import Glibc
#endif

/// The repository root (this file is Tests/FederationTests/Support/Commands.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// The debug build of `fedtrace` (`swift build --build-tests` builds it before `swift test`).
let fedtraceExecutable: String? = {
    let candidates = [".build/debug/fedtrace", ".build/x86_64-unknown-linux-gnu/debug/fedtrace", ".build/aarch64-unknown-linux-gnu/debug/fedtrace"]
    return candidates.map { repositoryRoot.appendingPathComponent($0).path }.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

struct CommandFailure: Error, CustomStringConvertible {
    let description: String
}

/// What a finished command printed.
struct CommandResult: CustomStringConvertible {
    let status: Int32
    let out: String
    let err: String

    /// Standard output parsed as JSON (nil if it is not JSON).
    var json: JSONValue? { try? JSONParser.parse(Array(out.utf8), limits: Self.limits) }

    static let limits: JSONParser.Limits = {
        var limits = JSONParser.Limits()
        limits.duplicateKeys = .lastWins
        return limits
    }()

    var description: String { "exit \(status)\nstdout: \(out.prefix(2000))\nstderr: \(err.prefix(2000))" }
}

/// Runs a program to completion with its standard output and error in files (no pipe can
/// fill up), killing it after `timeout`.
func runProgram(_ executable: String, _ arguments: [String], timeout: TimeInterval = 300) throws -> CommandResult {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fedtrace-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outPath = scratch.appendingPathComponent("out").path, errPath = scratch.appendingPathComponent("err").path
    FileManager.default.createFile(atPath: outPath, contents: nil)
    FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(5_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw CommandFailure(description: "\(executable) \(arguments.joined(separator: " ")) did not finish in \(timeout) s")
    }
    process.waitUntilExit()
    try out.close()
    try err.close()
    return CommandResult(status: process.terminationStatus,
                         out: String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self),
                         err: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self))
}

/// Runs `fedtrace ARGUMENTS`.
func fedtrace(_ arguments: [String], timeout: TimeInterval = 300) throws -> CommandResult {
    guard let executable = fedtraceExecutable else { throw CommandFailure(description: "build fedtrace first (swift build)") }
    return try runProgram(executable, arguments, timeout: timeout)
}

func fedtrace(_ arguments: String...) throws -> CommandResult { try fedtrace(arguments) }

/// Runs `fedtrace ARGUMENTS` and fails unless it exits 0.
@discardableResult
func fedtraceOK(_ arguments: [String], timeout: TimeInterval = 300) throws -> CommandResult {
    let result = try fedtrace(arguments, timeout: timeout)
    guard result.status == 0 else { throw CommandFailure(description: "fedtrace \(arguments.joined(separator: " ")): \(result)") }
    return result
}

@discardableResult
func fedtraceOK(_ arguments: String...) throws -> CommandResult { try fedtraceOK(arguments) }

/// Runs a Certs/ script; throws with its output if it fails.
func certsScript(_ script: String, _ arguments: [String]) throws {
    let result = try runProgram("/bin/bash", [repositoryRoot.appendingPathComponent("Certs/\(script)").path] + arguments, timeout: 120)
    guard result.status == 0 else { throw CommandFailure(description: "Certs/\(script) \(arguments.joined(separator: " ")): \(result)") }
}

/// A free TCP port on 127.0.0.1 right now (bound to port 0, read back, released). Another
/// process may take it before we bind it again: `NodeProcess.start` retries with a new one.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CommandFailure(description: "socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw CommandFailure(description: "bind 127.0.0.1:0: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw CommandFailure(description: "getsockname: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it held.
@discardableResult
func waitUntil(timeout: TimeInterval, interval: TimeInterval = 0.25, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: interval)
    }
}

/// Seconds since `start`, for the figures the tests print.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

extension JSONValue {
    /// A JSON number (or numeric string) as an integer.
    var int: Int? {
        switch self {
        case .number(let text): return Int(text)
        case .string(let text): return Int(text)
        default: return nil
        }
    }
}
