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

/// A fresh temporary directory for one test; `label` makes it recognisable.
public func makeTemporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fedtrace-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Files this process has open under `directory` (Linux: /proc/self/fd): what a stopped
/// node must not leave behind.
public func openFiles(under directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { fd in
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd)
    }.filter { $0.hasPrefix(directory + "/") }
}
