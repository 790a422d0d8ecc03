extension CommandLineTool {
    static let extraCommands: [Command] = [VerifyCommand.command, BackupCommand.command, GenerateCommand.command, DemoCommand.command, BenchCommand.command, ServeCommand.command] + AgreementCommands.all + PeerCommands.all + DirectoryCommands.all + EnquiryCommands.all + [EvidenceCommand.command]
}
