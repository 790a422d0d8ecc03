import Foundation
import CLI

exit(CommandLineTool.run(arguments: Array(CommandLine.arguments.dropFirst())))
