import Core
import Model

/// A command-line option a command accepts.
public struct OptionSpec: Sendable {
    public let name: String
    /// The placeholder for the option's value, or nil for a flag.
    public let valueName: String?
    public let help: String
    public let repeatable: Bool

    public init(_ name: String, value: String? = nil, repeatable: Bool = false, help: String) {
        self.name = name
        self.valueName = value
        self.help = help
        self.repeatable = repeatable
    }
}

/// A usage error: exits with status 2 and a one-line reason.
public struct UsageError: CodedError, Sendable {
    public let reason: String
    public var code: String { "usage" }
}

/// Parsed arguments of one command: option values and positionals.
public struct ParsedArguments: Sendable {
    var values: [String: [String]] = [:]
    public var positionals: [String] = []

    /// Whether a flag was given.
    public func flag(_ name: String) -> Bool { values[name] != nil }

    /// The value of an option, if given.
    public func value(_ name: String) -> String? { values[name]?.last }

    /// Every value of a repeatable option.
    public func all(_ name: String) -> [String] { values[name] ?? [] }

    /// The value of a required option.
    public func required(_ name: String) throws(UsageError) -> String {
        guard let v = value(name) else { throw UsageError(reason: "--\(name) is required") }
        return v
    }

    /// An integer option within `range`, or `defaultValue`.
    public func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int> = 0...Int.max) throws(UsageError) -> Int {
        guard let text = value(name) else { return defaultValue }
        guard let n = Int(text), range.contains(n) else { throw UsageError(reason: "--\(name) must be an integer in \(range.lowerBound)…\(range.upperBound), got '\(text)'") }
        return n
    }

    /// A Party given as an ISO 3166-1 alpha-2 code (`KZ`) or a federation URN; a bad value
    /// is a usage error naming `option`.
    public static func party(_ text: String, option: String) throws(UsageError) -> PartyID {
        do throws(ModelError) {
            return text.hasPrefix("urn:") ? try PartyID(urn: text) : try PartyID(country: text)
        } catch {
            throw UsageError(reason: "--\(option): \(error.reason)")
        }
    }

    /// The Party named by option `name`, if given.
    public func party(_ name: String) throws(UsageError) -> PartyID? {
        try value(name).map { (text: String) throws(UsageError) -> PartyID in try Self.party(text, option: name) }
    }

    /// Parses `arguments` against `options`: `--name value`, `--name=value`, flags, `--`.
    public static func parse(_ arguments: [String], options: [OptionSpec]) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments()
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || !argument.hasPrefix("--") || argument == "-" {
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" { onlyPositionals = true; continue }
            var name = String(argument.dropFirst(2))
            var inline: String?
            if let equals = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let spec = options.first(where: { $0.name == name }) else {
                throw UsageError(reason: "unknown option --\(name)")
            }
            if spec.valueName == nil {
                guard inline == nil else { throw UsageError(reason: "--\(name) takes no value") }
                parsed.values[name, default: []].append("")
                continue
            }
            let value: String
            if let inline {
                value = inline
            } else {
                guard index < arguments.count else { throw UsageError(reason: "--\(name) needs a value (\(spec.valueName!))") }
                value = arguments[index]
                index += 1
            }
            if !spec.repeatable, parsed.values[name] != nil { throw UsageError(reason: "--\(name) given more than once") }
            parsed.values[name, default: []].append(value)
        }
        return parsed
    }
}
