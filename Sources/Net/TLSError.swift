internal import COpenSSL

/// A TLS failure with a stable `code` and the reason OpenSSL gave (its error queue,
/// drained), e.g. `tls.handshake: certificate verify failed (certificate has expired)`.
public struct TLSError: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: String
    public let reason: String

    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code): \(reason)" }

    /// Drains OpenSSL's thread-local error queue into one error. `detail` is prepended.
    static func drain(_ code: String, _ detail: String? = nil) -> TLSError {
        var reasons: [String] = detail.map { [$0] } ?? []
        while true {
            let error = ERR_get_error()
            if error == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(error, &buffer, buffer.count)
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // "error:0A000086:SSL routines::certificate verify failed" → keep the tail.
            reasons.append(text.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? text)
        }
        return TLSError(code: code, reason: reasons.isEmpty ? "unknown OpenSSL error" : reasons.joined(separator: "; "))
    }
}
