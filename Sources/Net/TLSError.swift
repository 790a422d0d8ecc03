internal import COpenSSL
import Core
import Crypto

/// A TLS failure with a stable `code` and the reason OpenSSL gave (its error queue,
/// drained), e.g. `tls.handshake: certificate verify failed (certificate has expired)`.
public struct TLSError: CodedError, Sendable, Hashable {
    public let code: String
    public let reason: String

    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code): \(reason)" }

    /// Drains OpenSSL's thread-local error queue into one error. `detail` is prepended.
    static func drain(_ code: String, _ detail: String? = nil) -> TLSError {
        // "error:0A000086:SSL routines::certificate verify failed" → keep the tail.
        let reasons = (detail.map { [$0] } ?? []) + drainOpenSSLErrorMessages().map { text in
            text.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? text
        }
        return TLSError(code: code, reason: reasons.isEmpty ? "unknown OpenSSL error" : reasons.joined(separator: "; "))
    }
}
