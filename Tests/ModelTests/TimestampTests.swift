import Testing
@testable import Model

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2005-04-03T20:33:31.116000-06:00", "2005-04-04T02:33:31.116Z"),
        ("2005-04-03T20:33:31.116-06:00", "2005-04-04T02:33:31.116Z"),
        ("2020-01-14T00:00:00+01:00", "2020-01-13T23:00:00.000Z"),
        ("2019-11-06T14:00:00Z", "2019-11-06T14:00:00.000Z"),
        ("2019-11-06T14:00Z", "2019-11-06T14:00:00.000Z"),
        ("2024-02-29T23:59:59.9995+00:00", "2024-03-01T00:00:00.000Z"),   // 999.5 ms rounds half to even: up
        ("2024-02-29T23:59:59.0005Z", "2024-02-29T23:59:59.000Z"),         // 0.5 ms rounds half to even: down
        ("2024-02-29T23:59:59.0015Z", "2024-02-29T23:59:59.002Z"),
        ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500Z"),
        ("2013-06-08T14:58:56.591+0200", "2013-06-08T12:58:56.591Z"),
        ("2013-06-08T14:58:56.1234567+02:00", "2013-06-08T12:58:56.123Z"),
    ])
    func canonicalUTC(input: String, expected: String) throws {
        let t = try #require(Timestamp.parse(input))
        #expect(t.canonicalUTC == expected)
    }

    @Test(arguments: ["2005-04-03T20:33:31", "2005-13-01T00:00:00Z", "2005-02-30T00:00:00Z", "2005-04-03 20:33:31Z",
                      "2005-04-03T25:00:00Z", "2005-04-03T20:33:31+25:00", "20050403T203331Z", "", "yesterday",
                      "2005-04-03T20:33:31.Z", "2005-04-03T20:33:31Zjunk"])
    func refusesInvalid(input: String) {
        #expect(Timestamp.parse(input) == nil)
    }

    @Test func epochMilliseconds() throws {
        #expect(try #require(Timestamp.parse("1970-01-01T00:00:01.500Z")).epochMilliseconds == 1500)
        #expect(Timestamp(epochMilliseconds: -1).canonicalUTC == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(epochMilliseconds: 1_700_000_000_123).canonicalUTC == "2023-11-14T22:13:20.123Z")
    }

    @Test func zoneOffsets() {
        #expect(Timestamp.isValidZoneOffset("+05:00"))
        #expect(Timestamp.isValidZoneOffset("-06:30"))
        #expect(Timestamp.isValidZoneOffset("+14:00"))
        #expect(!Timestamp.isValidZoneOffset("+14:30"))
        #expect(!Timestamp.isValidZoneOffset("05:00"))
        #expect(!Timestamp.isValidZoneOffset("+5:00"))
    }
}
