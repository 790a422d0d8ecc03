import Foundation
import Testing
@testable import Crypto

@Suite struct HMACTests {
    /// RFC 4231 test cases 1, 2, 6 and 7 (HMAC-SHA-256).
    @Test(arguments: [
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ([UInt8](repeating: 0xaa, count: 131),
         Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ])
    func rfc4231(key: [UInt8], message: [UInt8], expected: String) {
        #expect(hex(HMACSHA256.authenticationCode(key: key, message: message)) == expected)
    }

    @Test func emptyKeyAndMessageAreLegal() {
        // HMAC-SHA256("", ""), as computed by `openssl dgst -sha256 -hmac ""` on an empty input.
        #expect(hex(HMACSHA256.authenticationCode(key: [], message: [])) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test func equalComparesWholeCodes() {
        let a = HMACSHA256.authenticationCode(key: [1], message: [2])
        var b = a
        #expect(HMACSHA256.equal(a, b))
        b[31] ^= 1
        #expect(!HMACSHA256.equal(a, b))
        #expect(!HMACSHA256.equal(a, Array(a.prefix(31))))
    }
}
