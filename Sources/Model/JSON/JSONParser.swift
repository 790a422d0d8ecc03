import Core

/// Why a JSON text was refused, and where: byte offset plus 1-based line and column.
public struct JSONError: CodedError, Sendable, Equatable {
    public let code: String
    public let reason: String
    public let offset: Int
    public let line: Int
    public let column: Int

    public var description: String { "line \(line), column \(column): \(reason)" }
}

/// A strict RFC 8259 JSON parser over UTF-8 bytes.
///
/// Strict on purpose, because every byte it sees may be hostile: invalid UTF-8, lone
/// surrogates, control characters in strings, leading zeros, trailing garbage and duplicate
/// object keys are errors; nesting deeper than `maxDepth` is an error (no stack exhaustion).
public struct JSONParser {
    /// Limits applied while parsing.
    public struct Limits: Sendable {
        /// Maximum nesting of arrays and objects.
        public var maxDepth: Int = 64
        /// Maximum length in bytes of one string (after unescaping).
        public var maxStringBytes: Int = 1 << 20
        /// Whether a repeated object key is an error (the default) or replaces the earlier
        /// value in place, as Python's `json` and most EPCIS tools read it. EPCIS capture
        /// uses `lastWins` so every GS1 example document captures; FedTrace's own
        /// documents (configuration, agreements, protocol messages) refuse duplicates.
        public var duplicateKeys: DuplicateKeys = .reject
        public init() {}
    }

    /// How the parser treats a key repeated within one object.
    public enum DuplicateKeys: Sendable {
        case reject
        case lastWins
    }

    /// Parses one JSON text (surrounding whitespace allowed): the tape's root, as values.
    public static func parse(_ bytes: [UInt8], limits: Limits = Limits()) throws(JSONError) -> JSONValue {
        let tape = try JSONTape.parse(bytes, limits: limits)
        return tape.value(tape.root)
    }

    /// Parses one JSON text from a buffer (surrounding whitespace allowed).
    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>, limits: Limits = Limits()) throws(JSONError) -> JSONValue {
        try parse(Array(buffer), limits: limits)
    }
}
