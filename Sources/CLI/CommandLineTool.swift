import Foundation
import Core
import Model
import Node
import Store

/// One `fedtrace` command: its name (possibly two words, e.g. `audit verify`), options and
/// what it does. `run` returns the exit status; thrown errors become a one-line reason.
public struct Command: Sendable {
    public let name: String
    public let summary: String
    public let usage: String
    public let options: [OptionSpec]
    public let run: @Sendable (ParsedArguments, Output) throws -> Int32

    public init(_ name: String, summary: String, usage: String, options: [OptionSpec],
                run: @escaping @Sendable (ParsedArguments, Output) throws -> Int32) {
        self.name = name
        self.summary = summary
        self.usage = usage
        self.options = options + [OptionSpec("help", help: "show this help")]
        self.run = run
    }

    /// The `--help` text.
    public var help: String {
        var lines = ["usage: fedtrace \(name) \(usage)", "", summary, "", "options:"]
        let width = options.map { "--\($0.name)" + ($0.valueName.map { " \($0)" } ?? "") }.map(\.count).max() ?? 0
        for option in options {
            let left = "--\(option.name)" + (option.valueName.map { " \($0)" } ?? "")
            lines.append("  " + left.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + option.help + (option.repeatable ? " (repeatable)" : ""))
        }
        return lines.joined(separator: "\n")
    }
}

/// The `fedtrace` command line: finds the command, parses its options, runs it, and turns
/// every failure into a non-zero exit status with a one-line reason on standard error.
public enum CommandLineTool {
    /// Every command, in the order `fedtrace --help` lists them.
    public static let commands: [Command] = [
        InitCommand.command, CaptureCommand.command, EventsCommand.command, TraceCommand.command,
        StatusCommand.command, AuditCommands.verify, AuditCommands.list, AuditCommands.seal, AuditCommands.reanchor,
    ] + extraCommands

    /// Runs `arguments` (without the program name) and returns the exit status.
    public static func run(arguments: [String], output: Output = .standard()) -> Int32 {
        if arguments.isEmpty || arguments == ["--help"] || arguments == ["-h"] || arguments == ["help"] {
            output.line(overview)
            return arguments.isEmpty ? 2 : 0
        }
        if arguments == ["--version"] {
            output.line("fedtrace \(version)")
            return 0
        }
        // Longest match first, so "audit verify" wins over a hypothetical "audit".
        let match = commands
            .filter { command in
                let words = command.name.split(separator: " ").map(String.init)
                return arguments.count >= words.count && Array(arguments.prefix(words.count)) == words
            }
            .max { $0.name.split(separator: " ").count < $1.name.split(separator: " ").count }
        guard let command = match else {
            let group = commands.filter { $0.name.hasPrefix(arguments[0] + " ") }
            if !group.isEmpty && arguments.count == 2 && (arguments[1] == "--help" || arguments[1] == "-h") {
                // `fedtrace audit --help`: the group's commands, as the overview lists them.
                let width = group.map(\.name.count).max() ?? 0
                output.line((["usage: fedtrace \(arguments[0]) COMMAND [OPTIONS]   (fedtrace \(arguments[0]) COMMAND --help for details)", "", "commands:"]
                    + group.map { "  " + $0.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.summary }).joined(separator: "\n"))
                return 0
            }
            if !group.isEmpty {
                output.error("fedtrace \(arguments[0]): expected one of: \(group.map { String($0.name.split(separator: " ")[1]) }.joined(separator: ", "))")
            } else {
                output.error("fedtrace: unknown command '\(arguments[0])'; run 'fedtrace --help' for the list")
            }
            return 2
        }
        let rest = Array(arguments.dropFirst(command.name.split(separator: " ").count))
        // `-h` is `--help` too, and help wins over anything missing or wrong beside it.
        if rest.contains("-h") || rest.contains("--help") {
            output.line(command.help)
            return 0
        }
        do {
            let parsed = try ParsedArguments.parse(rest, options: command.options)
            if parsed.flag("help") {
                output.line(command.help)
                return 0
            }
            return try command.run(parsed, output)
        } catch let error as UsageError {
            output.error("fedtrace \(command.name): \(error.reason) (see 'fedtrace \(command.name) --help')")
            return 2
        } catch {
            output.error("fedtrace \(command.name): \(oneLine(error))")
            return 1
        }
    }

    /// The version string.
    public static let version = "0.1.0"

    static var overview: String {
        let width = commands.map(\.name.count).max() ?? 0
        var lines = [
            "fedtrace: federation sync node for WHO FCTC Article 8 tracking and tracing", "",
            "usage: fedtrace COMMAND [OPTIONS]   (fedtrace COMMAND --help for details)", "", "commands:",
        ]
        for command in commands {
            lines.append("  " + command.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + command.summary)
        }
        return lines.joined(separator: "\n")
    }
}

/// A one-line reason for any error the layers throw.
func oneLine(_ error: any Error) -> String {
    let text: String
    if let coded = error as? any CodedError {
        text = coded.description
    } else if let cocoa = error as? CocoaError {
        // File errors from Foundation: the path and the system's reason (e.g. "No space left on device").
        let path = cocoa.userInfo[NSFilePathErrorKey] as? String
        let reason = (cocoa.userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) } ?? cocoa.localizedDescription
        text = path.map { "\($0): \(reason)" } ?? reason
    } else {
        text = String(describing: error)
    }
    return text.split(whereSeparator: \.isNewline).joined(separator: " ")
}

/// Common option: the node's data directory.
let dataOption = OptionSpec("data", value: "DIR", help: "the node's data directory")
/// Common option: machine-readable output.
let jsonOption = OptionSpec("json", help: "print JSON instead of text")

/// Opens the node named by `--data`.
func openNode(_ arguments: ParsedArguments) throws -> OpenNode {
    try NodeDirectory(path: try arguments.required("data")).open()
}
