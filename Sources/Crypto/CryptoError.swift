internal import COpenSSL
import Core

/// A failure in the cryptographic layer: a stable `code` for scripts and problem reports,
/// and a human `reason` that carries OpenSSL's own error text when OpenSSL was the cause.
public struct CryptoError: CodedError, Sendable, Equatable {
    /// A stable machine-readable code, e.g. `crypto.digest`.
    public let code: String
    /// What went wrong, in words an operator can act on.
    public let reason: String

    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code): \(reason)" }

    /// Builds an error whose reason ends with everything on OpenSSL's error queue,
    /// draining the queue so the next failure does not inherit stale entries.
    static func openSSL(_ code: String, _ what: String) -> CryptoError {
        let queued = drainOpenSSLErrors()
        return CryptoError(code: code, reason: queued.isEmpty ? what : "\(what): \(queued)")
    }
}

/// Empties OpenSSL's thread-local error queue and returns its entries joined by "; ".
func drainOpenSSLErrors() -> String {
    drainOpenSSLErrorMessages().joined(separator: "; ")
}

/// Empties OpenSSL's thread-local error queue and returns its entries in order, each as
/// OpenSSL formats it (`error:0A000086:SSL routines::certificate verify failed`). Shared
/// with Net, whose TLS errors drain the same queue.
package func drainOpenSSLErrorMessages() -> [String] {
    var messages: [String] = []
    while true {
        let error = ERR_get_error()
        if error == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(error, &buffer, buffer.count)
        messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return messages
}
