import Foundation

/// Runs a program and returns its exit status and combined output.
@discardableResult
public func run(_ executable: String, _ arguments: [String], in directory: URL? = nil, stdin: String? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    if stdin != nil {
        let input = Pipe()
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(Data(stdin!.utf8))
        try input.fileHandleForWriting.close()
    } else {
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A fresh temporary directory for one test; `label` makes it recognisable. Removed, with
/// everything in it, when the test process exits (tests share nodes' directories across
/// helpers, so no single test owns one; before this, each run left ~60 behind in /tmp).
public func makeTemporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fedtrace-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    TemporaryDirectories.shared.add(url.path)
    return url
}

/// The directories `makeTemporaryDirectory` made, removed at process exit.
final class TemporaryDirectories: @unchecked Sendable {
    // @unchecked Sendable: `paths` is only touched under `lock`.
    static let shared = TemporaryDirectories()
    private let lock = NSLock()
    private var paths: [String] = []

    private init() {
        atexit { TemporaryDirectories.shared.removeAll() }
    }

    func add(_ path: String) {
        lock.lock()
        paths.append(path)
        lock.unlock()
    }

    func removeAll() {
        lock.lock()
        let all = paths
        paths.removeAll()
        lock.unlock()
        for path in all { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// Files this process has open under `directory` (Linux: /proc/self/fd): what a stopped
/// node must not leave behind.
public func openFiles(under directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { fd in
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd)
    }.filter { $0.hasPrefix(directory + "/") }
}
