/// An error with a stable machine-readable `code` and a one-line human `reason`.
///
/// Every layer's error type conforms, so the command line prints `reason` and exits
/// non-zero, and the HTTP API turns `code` and `reason` into a problem report, without
/// knowing which layer failed. Reasons never carry payloads, keys or secrets.
public protocol CodedError: Error, CustomStringConvertible {
    /// Stable across releases; scripts and problem reports rely on it (e.g. `epcis.invalid`).
    var code: String { get }
    /// What went wrong and where, in one line an operator can act on.
    var reason: String { get }
}

extension CodedError {
    public var description: String { reason }
}
