import Foundation
import Node

exit(CommandLineTool.run(arguments: Array(CommandLine.arguments.dropFirst())))
