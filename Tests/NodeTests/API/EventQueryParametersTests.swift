import Foundation
import Testing
import Model
import Store
@testable import Node

@Suite struct EventQueryParametersTests {
    func parse(_ query: String) throws(APIProblem) -> EventQueryParameters {
        try EventQueryParameters(queryString: Substring(query))
    }

    func problem(_ query: String) -> APIProblem? {
        do { _ = try parse(query); return nil } catch { return error }
    }

    @Test func parsesEveryParameter() throws {
        let p = try parse("EQ_type=ObjectEvent,AggregationEvent&EQ_action=ADD&EQ_bizStep=shipping&EQ_disposition=in_transit"
            + "&MATCH_epc=urn%3Aepc%3Aid%3Asgtin%3A1.2.3&MATCH_anyEPC=a,b&MATCH_parentID=p&EQ_readPoint=r&EQ_bizLocation=l"
            + "&GE_eventTime=2020-01-01T00:00:00Z&LT_eventTime=2020-01-02T00:00:00%2B01:00&perPage=7")
        #expect(p.query.types == ["ObjectEvent", "AggregationEvent"])
        #expect(p.query.actions == ["ADD"])
        #expect(p.query.bizSteps == ["shipping"])
        #expect(p.query.dispositions == ["in_transit"])
        #expect(p.query.epcs == ["urn:epc:id:sgtin:1.2.3"])
        #expect(p.query.anyEPCs == ["a", "b"])
        #expect(p.query.parentIDs == ["p"])
        #expect(p.query.readPoints == ["r"])
        #expect(p.query.bizLocations == ["l"])
        #expect(p.query.eventTimeFrom == 1_577_836_800_000)
        #expect(p.query.eventTimeBefore == 1_577_919_600_000)
        #expect(p.perPage == 7)
        #expect(try parse("").perPage == EventQueryParameters.defaultPerPage)
    }

    @Test func refusesWhatItDoesNotUnderstand() {
        #expect(problem("EQ_bizstep=shipping")?.code == "query.unknown_parameter")
        #expect(problem("EQ_bizstep=shipping")?.members["parameter"]?.stringValue == "EQ_bizstep")
        #expect(problem("EQ_type=Nonsense")?.code == "query.bad_value")
        #expect(problem("EQ_action=MOVE")?.code == "query.bad_value")
        #expect(problem("EQ_type=ObjectEvent,")?.code == "query.bad_value")
        #expect(problem("GE_eventTime=yesterday")?.code == "query.bad_value")
        #expect(problem("perPage=0")?.code == "query.bad_value")
        #expect(problem("perPage=1&perPage=2")?.code == "query.repeated_parameter")
        #expect(problem("nextPageToken=garbage!")?.code == "query.bad_page_token")
        #expect(problem("MATCH_epc=%ZZ")?.code == "query.bad_encoding")
        #expect(problem("EQ_type=ObjectEvent")?.status == nil)
    }

    @Test func pageTokensRoundTripAndAreBoundToTheFilters() throws {
        let first = try parse("EQ_bizStep=shipping&perPage=3")
        let token = first.nextPageToken(after: 42)
        #expect(try parse("EQ_bizStep=shipping&perPage=3&nextPageToken=\(token)").afterRowID == 42)
        #expect(try parse("perPage=9&EQ_bizStep=shipping&nextPageToken=\(token)").afterRowID == 42, "perPage may change between pages")
        #expect(problem("EQ_bizStep=receiving&nextPageToken=\(token)")?.code == "query.bad_page_token")
        #expect(try parse(first.nextPageQuery(after: 42)).afterRowID == 42)
    }
}
