extension CommandLineTool {
    static let extraCommands: [Command] = [VerifyCommand.command, GenerateCommand.command, DemoCommand.command, BenchCommand.command, ServeCommand.command] + AgreementCommands.all
}
