import Foundation
import Model

/// Where a command writes: standard output and error, or buffers in tests.
public final class Output: @unchecked Sendable {
    // @unchecked Sendable: the buffers are only touched under `lock`.
    private let lock = NSLock()
    private let capture: Bool
    private var outBuffer = ""
    private var errorBuffer = ""

    /// Output to the process's stdout and stderr.
    public static func standard() -> Output { Output(capture: false) }
    /// Output kept in memory (tests).
    public static func captured() -> Output { Output(capture: true) }

    init(capture: Bool) {
        self.capture = capture
    }

    /// Writes a line to standard output.
    public func line(_ text: String = "") {
        if capture {
            lock.withLock { outBuffer += text + "\n" }
        } else {
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }

    /// Writes a line to standard error.
    public func error(_ text: String) {
        if capture {
            lock.withLock { errorBuffer += text + "\n" }
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// Writes a JSON value (pretty enough for people, exact for scripts) to standard output.
    public func json(_ value: JSONValue) {
        line(JSONWriter.string(value))
    }

    /// What was written to standard output (captured mode).
    public var standardOutput: String { lock.withLock { outBuffer } }
    /// What was written to standard error (captured mode).
    public var standardError: String { lock.withLock { errorBuffer } }
}
