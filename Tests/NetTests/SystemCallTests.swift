import Testing
import Glibc
@testable import Net

@Suite struct SystemCallTests {
    @Test func failureCarriesErrnoAndCallName() {
        #expect(throws: SystemCallError(call: "close", errno: EBADF)) {
            try systemCall("close") { close(-1) }
        }
    }

    @Test func successReturnsResult() throws {
        let fd = try systemCall("dup") { dup(1) }
        #expect(fd > 2)
        _ = try systemCall("close") { close(fd) }
    }
}
