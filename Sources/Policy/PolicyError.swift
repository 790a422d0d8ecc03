public import Core

/// A refusal from the policy layer: a stable `code`, the JSON `path` it concerns (empty when
/// it concerns the whole document) and a one-line `reason` that names that path.
public struct PolicyError: CodedError, Sendable, Equatable {
    public let code: String
    /// The JSON path of the offending member (`flows[0].rowFilter.eventTypes`), or "".
    public let path: String
    public let reason: String

    public init(code: String, path: String = "", reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }
}
