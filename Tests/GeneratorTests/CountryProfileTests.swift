import Testing
import Model
@testable import Generator

@Suite struct CountryProfileTests {
    @Test func offsetsFollowTheLocalClock() throws {
        let january: Int64 = 1_736_000_000_000 // 2025-01-04
        let july: Int64 = 1_751_500_000_000 // 2025-07-02
        let kazakhstan = CountryProfile(try PartyID(country: "KZ"))
        let ukraine = CountryProfile(try PartyID(country: "UA"))
        #expect(kazakhstan.offsetMinutes(at: january) == 300)
        #expect(kazakhstan.offsetMinutes(at: july) == 300)
        #expect(ukraine.offsetMinutes(at: january) == 120)
        #expect(ukraine.offsetMinutes(at: july) == 180)
        #expect(kazakhstan.gs1Prefix == "487")
    }

    /// EU summer time 2025 runs from 30 March to 26 October, switching at 01:00 UTC.
    @Test func summerTimeSwitchesOnTheLastSundays() throws {
        let ukraine = CountryProfile(try PartyID(country: "UA"))
        let start = Int64(CountryProfile.daysSinceEpoch(year: 2025, month: 3, day: 30)) * 86_400_000 + 3_600_000
        let end = Int64(CountryProfile.daysSinceEpoch(year: 2025, month: 10, day: 26)) * 86_400_000 + 3_600_000
        #expect(CountryProfile.lastSunday(year: 2025, month: 3) == CountryProfile.daysSinceEpoch(year: 2025, month: 3, day: 30))
        #expect(ukraine.offsetMinutes(at: start - 1) == 120)
        #expect(ukraine.offsetMinutes(at: start) == 180)
        #expect(ukraine.offsetMinutes(at: end - 1) == 180)
        #expect(ukraine.offsetMinutes(at: end) == 120)
    }
}
