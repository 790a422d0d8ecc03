extension CommandLineTool {
    static let extraCommands: [Command] = [GenerateCommand.command, DemoCommand.command, BenchCommand.command, ServeCommand.command]
}
