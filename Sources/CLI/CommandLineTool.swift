import Foundation

/// The `fedtrace` command line: parses arguments, runs a command, returns the exit status.
public enum CommandLineTool {
    /// Runs the command named by `arguments` and returns the process exit status.
    public static func run(arguments: [String]) -> Int32 {
        print("fedtrace: not yet wired")
        return 1
    }
}
