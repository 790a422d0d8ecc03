import Core
/// Why a supply-chain configuration cannot be generated: a stable `code` for tools and
/// tests, and a human `reason`.
public struct GeneratorError: CodedError, Equatable, Sendable {
    /// Stable, dotted identifier such as `generator.configuration`.
    public let code: String
    /// What is wrong, for people.
    public let reason: String

    /// An error with a stable code and a reason.
    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// `code: reason`.
}
