public import Core

/// Why a delta, a receipt or a sync step failed. `code` is stable (docs/sync.md lists them);
/// a receiver returns it to the sender in the problem report, which the sender shows in
/// `fedtrace status`.
public struct SyncError: CodedError, Sendable, Equatable {
    public let code: String
    public let reason: String
    /// For `delta.gap`: the sequence the receiver expects next.
    public let expected: Int64?

    public init(code: String, reason: String, expected: Int64? = nil) {
        self.code = code
        self.reason = reason
        self.expected = expected
    }

    /// The HTTP status a receiver answers with: 409 for a gap (resend from `expected`),
    /// 400 for a request that is not a delta at all, 422 for a refused delta.
    public var httpStatus: Int {
        switch code {
        case "delta.gap": return 409
        case "delta.routing": return 400
        case "sync.unavailable": return 503
        default: return 422
        }
    }
}
