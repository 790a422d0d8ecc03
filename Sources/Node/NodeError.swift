import Core
/// A failure in node wiring (configuration, data directory): stable `code`, human `reason`.
public struct NodeError: CodedError, Sendable, Equatable {
    public let code: String
    public let reason: String

    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }

}
