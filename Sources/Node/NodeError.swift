/// A failure in node wiring (configuration, data directory): stable `code`, human `reason`.
public struct NodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let reason: String

    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
}
