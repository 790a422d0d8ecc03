import Core
/// A validation failure in the data model: a stable `code` and a human `reason`.
///
/// For EPCIS input the reason names where the problem is (document, event index, field),
/// so an operator can fix the file without guessing.
public struct ModelError: CodedError, Sendable, Equatable {
    /// A stable machine-readable code such as `epcis.missing-field`.
    public let code: String
    /// What is wrong and where, in one line.
    public let reason: String

    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }

}
