import Testing
@testable import Generator

@Suite struct SerialNumbersTests {
    @Test func permutationIsABijectionOnItsDomain() {
        for bound in [2, 1000, 4096, 5000] as [UInt64] {
            let permutation = KeyedPermutation(bound: bound, key: 99)
            let images = Set((0..<bound).map(permutation.permute))
            #expect(images.count == Int(bound))
            #expect(images.allSatisfy { $0 < bound })
        }
    }

    @Test func serialsAreTenAlphanumericCharactersAndDependOnTheSeed() {
        let a = SerialNumbers(seed: 1)
        let b = SerialNumbers(seed: 2)
        let serialsA = (0..<1000).map { SerialNumbers.alphanumeric(a.packValue($0)) }
        let serialsB = (0..<1000).map { SerialNumbers.alphanumeric(b.packValue($0)) }
        #expect(Set(serialsA).count == 1000)
        #expect(Set(serialsA).isDisjoint(with: serialsB))
        let allowed = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        #expect(serialsA.allSatisfy { $0.count == 10 && $0.allSatisfy(allowed.contains) })
    }

    @Test func ssccReferencesStayInTheirRanges() {
        let serials = SerialNumbers(seed: 5)
        for index in 0..<200 {
            #expect(serials.caseReference(index) < 900_000_000)
            #expect((900_000_000...999_999_999).contains(serials.palletReference(index)))
        }
    }
}
