import Crypto
import Foundation
import TestSupport
import Testing
import Model
import Net
import Store
@testable import Node

@Suite struct LocalAPITests {
    /// A node holding every GS1 example, captured over HTTP.
    static func nodeWithExamples(_ label: String) throws -> RunningNode {
        let running = try RunningNode(try makeNode(label))
        for file in gs1ExampleFiles {
            _ = try running.post("/capture", body: Array(try Data(contentsOf: file)))
        }
        return running
    }

    @Test func captureOverHTTPEqualsDirectCapture() throws {
        #expect(gs1ExampleFiles.count >= 19, "GS1 examples not found beside the repository")
        let running = try RunningNode(try makeNode("capture-http"))
        defer { running.stop() }
        let direct = CaptureService(node: try makeNode("capture-direct"))
        // Twice: the second round is all duplicates, on both sides.
        for round in 0..<2 {
            for file in gs1ExampleFiles {
                let bytes = Array(try Data(contentsOf: file))
                let response = try running.post("/capture", body: bytes, contentType: round == 0 ? "application/ld+json" : "application/json; charset=utf-8")
                let expected = direct.capture(bytes: bytes, source: file.lastPathComponent)
                guard let result = expected.result else {
                    #expect(response.status == 400, "\(file.lastPathComponent)")
                    continue
                }
                #expect(response.status == 200, "\(file.lastPathComponent): \(response.text)")
                let object = try #require(response.jsonObject)
                #expect(object["captured"]?.intValue == result.captured, "\(file.lastPathComponent)")
                #expect(object["duplicates"]?.intValue == result.duplicates, "\(file.lastPathComponent)")
                #expect(object["eventHashIDs"]?.arrayValue?.compactMap(\.stringValue) == result.capturedIDs + result.duplicateIDs)
                if round == 1 { #expect(result.captured == 0) }
            }
        }
        let overHTTP = try running.node.store.counts(localOrigin: "urn:fctc:party:KZ")
        let directly = try direct.node.store.counts(localOrigin: "urn:fctc:party:KZ")
        #expect(overHTTP.events == directly.events && overHTTP.events > 20)
        #expect(overHTTP.uims == directly.uims && overHTTP.aggregationLinks == directly.aggregationLinks)
        let all = EventQuery()
        #expect(try running.node.store.events(matching: all).map(\.hashID) == direct.node.store.events(matching: all).map(\.hashID))
    }

    /// Each capture's audit record names the SHA-256 of the exact document bytes, whether
    /// the document came as a file (digest worked out on the parsing thread) or as bytes.
    @Test func theAuditRecordCarriesTheDocumentDigest() throws {
        let node = try makeNode("capture-digest")
        let service = CaptureService(node: node)
        let files = Array(gs1ExampleFiles.prefix(3))
        #expect(files.count == 3)
        let outcomes = service.capture(files: files.map(\.path))
        #expect(outcomes.allSatisfy { $0.result != nil })
        let bytes = Array(try Data(contentsOf: gs1ExampleFiles[3]))
        #expect(service.capture(bytes: bytes, source: "request body").result != nil)
        let expected = try files.map { SHA256.hexHash(Array(try Data(contentsOf: $0))) } + [SHA256.hexHash(bytes)]
        let digests = try node.store.recentAudit(limit: 10).reversed().filter { $0.action == "capture" }.map { record in
            try #require(try JSONParser.parse(Array(record.detail.utf8)).objectValue?["documentSHA256"]?.stringValue)
        }
        #expect(digests == expected)
    }

    @Test func rejectedCapturesStoreNothingAndNameTheLocation() throws {
        let running = try RunningNode(try makeNode("capture-bad"))
        defer { running.stop() }
        let malformed = try running.post("/capture", body: Array(#"{"type":"EPCISDocument","epcisBody":"#.utf8))
        #expect(malformed.status == 400)
        #expect(malformed.headers["Content-Type"] == "application/problem+json")
        #expect(malformed.jsonObject?["code"]?.stringValue == "epcis.json")
        #expect(malformed.jsonObject?["document"]?.stringValue == "request body")
        #expect(malformed.jsonObject?["line"]?.intValue == 1)
        #expect(malformed.jsonObject?["column"] != nil)

        // Second event lacks eventTime: the first (valid) event must not be stored either.
        let invalid = #"""
        {"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[
          {"type":"ObjectEvent","action":"OBSERVE","eventTime":"2024-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:1.2.3"]},
          {"type":"ObjectEvent","action":"OBSERVE","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:1.2.4"]}]}}
        """#
        let response = try running.post("/capture", body: Array(invalid.utf8))
        #expect(response.status == 400)
        let problem = try #require(response.jsonObject)
        #expect(problem["code"]?.stringValue == "epcis.invalid")
        #expect(problem["event"]?.intValue == 1)
        #expect(problem["field"]?.stringValue == "eventTime")
        #expect(problem["detail"]?.stringValue?.contains("event 1") == true)

        // A large document is stored slice by slice while later slices are validated: an
        // error in its last event still rolls back everything stored before it.
        let large = (0..<600).map { index in
            #"{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2024-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:1.2.\#(index)"]}"#
        }
        var broken = large
        broken[599] = broken[599].replacingOccurrences(of: "OBSERVE", with: "MAYBE")
        func document(_ events: [String]) -> [UInt8] {
            Array(#"{"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[\#(events.joined(separator: ","))]}}"#.utf8)
        }
        let late = try running.post("/capture", body: document(broken))
        #expect(late.status == 400)
        #expect(late.jsonObject?["code"]?.stringValue == "epcis.invalid")
        #expect(late.jsonObject?["event"]?.intValue == 599)
        #expect(late.jsonObject?["field"]?.stringValue == "action")
        #expect(try running.node.store.counts(localOrigin: "urn:fctc:party:KZ").events == 0)
        #expect(try running.node.store.verifyAudit().isIntact)
        // Each refused document is audited, with where the error points.
        let refused = try running.node.store.recentAudit(limit: 10).filter { $0.action == "capture.rejected" }.reversed().map(\.detail)
        #expect(refused.count == 3)
        #expect(refused.map { $0.contains(#""code":"epcis.json""#) } == [true, false, false])
        #expect(refused[2].contains(#""event":599"#) && refused[2].contains(#""field":"action""#) && refused[2].contains(#""source":"request body""#))

        #expect(try running.post("/capture", body: Array(invalid.utf8), contentType: "text/plain").status == 415)
        #expect(try running.post("/capture", body: []).jsonObject?["code"]?.stringValue == "capture.empty")
        #expect(try running.node.store.counts(localOrigin: "urn:fctc:party:KZ").events == 0)
        #expect(try running.get("/health").status == 200, "the node keeps serving after rejections")
    }

    @Test func oversizedBodyIs413AndNothingIsStored() throws {
        let running = try RunningNode(try makeNode("capture-413") { $0.maxDocumentBytes = 2048 })
        defer { running.stop() }
        let big = Array(try Data(contentsOf: try #require(gs1ExampleFiles.first { $0.lastPathComponent.hasPrefix("Example-TransactionEvents") })))
        #expect(big.count > 2048)
        let response = try running.post("/capture", body: big)
        #expect(response.status == 413)
        #expect(response.jsonObject?["code"]?.stringValue == "http.body_too_large")
        #expect(response.jsonObject?["type"]?.stringValue == "urn:fedtrace:problem:http.body_too_large")
        #expect(response.jsonObject?["status"]?.intValue == 413)
        #expect(try running.node.store.counts(localOrigin: "urn:fctc:party:KZ").events == 0)
        #expect(try running.get("/health").status == 200)
    }

    @Test func eachQueryParameterSelectsWhatTheStoreSelects() throws {
        let running = try Self.nodeWithExamples("query")
        defer { running.stop() }
        let total = try running.node.store.events(matching: EventQuery()).count
        func check(_ query: String, _ build: (inout EventQuery) -> Void, sourceLocation: SourceLocation = #_sourceLocation) throws {
            var expected = EventQuery()
            build(&expected)
            expected.limit = 10_000
            let stored = try running.node.store.events(matching: expected)
            let response = try running.get("/events?\(query)&perPage=1000")
            #expect(response.status == 200, "\(query): \(response.text)", sourceLocation: sourceLocation)
            let events = eventList(response)
            #expect(events == stored.map { parseEvent($0.raw) }, "\(query)", sourceLocation: sourceLocation)
            #expect(!events.isEmpty && events.count < total, "\(query) should select some but not all (\(events.count) of \(total))", sourceLocation: sourceLocation)
        }
        try check("EQ_type=AggregationEvent") { $0.types = ["AggregationEvent"] }
        try check("EQ_type=AggregationEvent,TransformationEvent") { $0.types = ["AggregationEvent", "TransformationEvent"] }
        try check("EQ_action=ADD") { $0.actions = ["ADD"] }
        try check("EQ_bizStep=shipping,receiving") { $0.bizSteps = ["shipping", "receiving"] }
        try check("EQ_bizStep=https%3A%2F%2Fref.gs1.org%2Fcbv%2FBizStep-shipping") { $0.bizSteps = ["shipping"] }
        try check("EQ_disposition=in_transit") { $0.dispositions = ["in_transit"] }
        try check("MATCH_epc=\(encoded("urn:epc:id:sgtin:0614141.107346.2017"))") { $0.epcs = ["urn:epc:id:sgtin:0614141.107346.2017"] }
        try check("MATCH_anyEPC=\(encoded("urn:epc:id:sscc:0614141.1234567890"))") { $0.anyEPCs = ["urn:epc:id:sscc:0614141.1234567890"] }
        try check("MATCH_parentID=\(encoded("urn:epc:id:sscc:0614141.1234567890"))") { $0.parentIDs = ["urn:epc:id:sscc:0614141.1234567890"] }
        try check("EQ_readPoint=\(encoded("urn:epc:id:sgln:0614141.07346.1234"))") { $0.readPoints = ["urn:epc:id:sgln:0614141.07346.1234"] }
        try check("EQ_bizLocation=\(encoded("urn:epc:id:sgln:0614141.00888.0"))") { $0.bizLocations = ["urn:epc:id:sgln:0614141.00888.0"] }
        let from = Timestamp.parse("2019-11-01T00:00:00Z")!.epochMilliseconds
        let before = Timestamp.parse("2019-11-05T00:00:00+01:00")!.epochMilliseconds
        try check("GE_eventTime=2019-11-01T00:00:00Z") { $0.eventTimeFrom = from }
        try check("LT_eventTime=2019-11-05T00:00:00%2B01:00") { $0.eventTimeBefore = before }
        try check("GE_eventTime=2019-11-01T00:00:00Z&LT_eventTime=2019-11-05T00:00:00%2B01:00&EQ_type=AssociationEvent") {
            $0.eventTimeFrom = from; $0.eventTimeBefore = before; $0.types = ["AssociationEvent"]
        }
        // MATCH_anyEPC includes the parent; MATCH_epc does not.
        let parent = encoded("urn:epc:id:sscc:0614141.1234567890")
        #expect(eventList(try running.get("/events?MATCH_epc=\(parent)")).isEmpty)

        let unknown = try running.get("/events?EQ_bizStep=shipping&colour=red")
        #expect(unknown.status == 400)
        #expect(unknown.jsonObject?["code"]?.stringValue == "query.unknown_parameter")
        #expect(unknown.jsonObject?["parameter"]?.stringValue == "colour")
        #expect(try running.get("/events?GE_eventTime=soon").jsonObject?["code"]?.stringValue == "query.bad_value")
    }

    @Test func pagingWithThreePerPageVisitsEveryEventOnce() throws {
        let running = try Self.nodeWithExamples("paging")
        defer { running.stop() }
        let expected = try running.node.store.events(matching: EventQuery()).map { parseEvent($0.raw) }
        var collected: [JSONValue] = []
        var target = "/events?perPage=3"
        var pages = 0
        while true {
            let response = try running.get(target)
            #expect(response.status == 200)
            let events = eventList(response)
            collected += events
            pages += 1
            guard let token = response.jsonObject?["nextPageToken"]?.stringValue else {
                #expect(response.headers["Link"] == nil)
                break
            }
            #expect(events.count == 3)
            let link = try #require(response.headers["Link"])
            #expect(link.hasPrefix("</events?") && link.hasSuffix(">; rel=\"next\""))
            #expect(link.contains("nextPageToken=\(token)"))
            target = String(link.dropFirst().prefix { $0 != ">" })
            #expect(pages < 100)
        }
        #expect(collected == expected)
        #expect(pages == (expected.count + 2) / 3 || (expected.count % 3 == 0 && pages == expected.count / 3 + 1))

        // Filters + paging: the token only works with the same filters.
        let first = try running.get("/events?EQ_type=ObjectEvent&perPage=2")
        let token = try #require(first.jsonObject?["nextPageToken"]?.stringValue)
        #expect(try running.get("/events?EQ_type=AggregationEvent&perPage=2&nextPageToken=\(token)").jsonObject?["code"]?.stringValue == "query.bad_page_token")
    }

    @Test func eventByHashIDAndTrace() throws {
        let running = try Self.nodeWithExamples("byid")
        defer { running.stop() }
        let stored = try #require(try running.node.store.events(matching: EventQuery()).first { $0.type == "AggregationEvent" })
        let response = try running.get("/events/\(encoded(stored.hashID))")
        #expect(response.status == 200)
        #expect(eventList(response).first == parseEvent(stored.raw))
        let missing = try running.get("/events/\(encoded("ni:///sha-256;" + String(repeating: "0", count: 64) + "?ver=CBV2.0"))")
        #expect(missing.status == 404)
        #expect(missing.jsonObject?["code"]?.stringValue == "event.not_found")

        let trace = try running.get("/trace/\(encoded("urn:epc:id:sgtin:0614141.107346.2018"))")
        #expect(trace.status == 200, "\(trace.text)")
        let object = try #require(trace.jsonObject)
        #expect(object["found"] == .bool(true))
        #expect((object["events"]?.arrayValue?.count ?? 0) > 0)
        #expect(try running.get("/trace/\(encoded("urn:epc:id:sgtin:9.9.9"))").jsonObject?["code"]?.stringValue == "trace.not_found")
        #expect(try running.get("/trace/x?depth=3").jsonObject?["code"]?.stringValue == "query.unknown_parameter")
    }

    @Test func statusAndHealth() throws {
        let running = try Self.nodeWithExamples("status")
        defer { running.stop() }
        let health = try running.get("/health")
        #expect(health.status == 200 && health.jsonObject == ["status": "ok"])
        let status = try #require(try running.get("/status").jsonObject)
        #expect(status == (try running.node.statusReport()))
        #expect(status["party"]?.stringValue == "urn:fctc:party:KZ")
        #expect(status["auditIntact"] == .bool(true))
        #expect((status["events"]?.intValue ?? 0) > 20)
    }

    @Test func metricsParseAsPrometheusTextAndCountRequests() throws {
        let running = try RunningNode(try makeNode("metrics"))
        defer { running.stop() }
        for _ in 0..<5 { _ = try running.get("/health") }
        _ = try running.get("/nowhere")
        _ = try running.get("/events?bogus=1")
        _ = try running.post("/capture", body: Array(try Data(contentsOf: gs1ExampleFiles[0])))
        let response = try running.get("/metrics")
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        var samples: [String: Double] = [:]
        let name = "[a-zA-Z_:][a-zA-Z0-9_:]*"
        let sample = try Regex("^(\(name))(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\",?)*\\})? (-?[0-9.eE+-]+|\\+Inf|NaN)$")
        let comment = try Regex("^# (HELP \(name) .*|TYPE \(name) (counter|gauge|histogram|summary|untyped))$")
        for line in response.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("#") {
                #expect(line.wholeMatch(of: comment) != nil, "bad comment line: \(line)")
            } else {
                #expect(line.wholeMatch(of: sample) != nil, "bad sample line: \(line)")
                let parts = line.split(separator: " ")
                samples[String(parts[0])] = Double(parts[1])
            }
        }
        #expect(response.text.hasSuffix("\n"))
        #expect(samples[#"fedtrace_http_requests_total{listener="api",route="/health",method="GET",status="200"}"#] == 5)
        #expect(samples[#"fedtrace_http_requests_total{listener="api",route="unmatched",method="GET",status="404"}"#] == 1)
        #expect(samples[#"fedtrace_http_requests_total{listener="api",route="/events",method="GET",status="400"}"#] == 1)
        #expect(samples[#"fedtrace_http_requests_total{listener="api",route="/capture",method="POST",status="200"}"#] == 1)
        #expect(samples[#"fedtrace_http_request_duration_seconds_count{listener="api",route="/health"}"#] == 5)
        #expect(samples[#"fedtrace_http_request_duration_seconds_bucket{listener="api",route="/health",le="+Inf"}"#] == 5)
        let counts = try running.node.store.counts(localOrigin: "urn:fctc:party:KZ")
        #expect(samples["fedtrace_events_stored"] == Double(counts.events) && counts.events > 0)
        #expect(samples["fedtrace_audit_records"] == Double(counts.auditRecords))
        #expect(running.server.metrics.requestCount(listener: "api") == 9)
    }

    @Test func openAPIDocumentParsesAndListsEveryRoute() throws {
        let running = try RunningNode(try makeNode("openapi"))
        defer { running.stop() }
        let response = try running.get("/openapi.json")
        #expect(response.status == 200)
        let document = try #require(response.jsonObject)
        #expect(document["openapi"]?.stringValue?.hasPrefix("3.0") == true)
        let paths = try #require(document["paths"]?.objectValue)
        var documented: Set<String> = []
        for member in paths.members {
            for method in member.value.objectValue?.keys ?? [] { documented.insert("\(method.uppercased()) \(member.key)") }
        }
        let routed = Set(running.server.localAPI.router.routes.map { "\($0.method.rawValue) \($0.pattern)" })
        #expect(documented == routed)
        // Every $ref resolves.
        for reference in OpenAPIDocument.json.matches(of: try Regex(##""\$ref": "#/components/([a-zA-Z]+)/([a-zA-Z]+)""##)) {
            let kind = String(reference.output[1].substring!), name = String(reference.output[2].substring!)
            #expect(document["components"]?.objectValue?[kind]?.objectValue?[name] != nil, "\(kind)/\(name)")
        }
    }

    @Test func curlWorksAgainstTheLocalAPI() throws {
        let curl = ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(curl, "curl is not installed")
        let running = try RunningNode(try makeNode("curl"))
        defer { running.stop() }
        let base = "http://127.0.0.1:\(running.server.apiPort)"
        let health = try run(path, ["-sS", "\(base)/health"])
        #expect(health.status == 0 && health.output == #"{"status":"ok"}"#)
        let file = gs1ExampleFiles.first { $0.lastPathComponent == "Example_9.6.1-ObjectEvent.jsonld" }!
        let capture = try run(path, ["-sS", "-H", "Content-Type: application/ld+json", "--data-binary", "@\(file.path)", "\(base)/capture"])
        #expect(capture.status == 0)
        #expect((try JSONParser.parse(Array(capture.output.utf8))).objectValue?["captured"]?.intValue == 2)
        let missing = try run(path, ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{content_type}", "\(base)/nothing"])
        #expect(missing.output == "404 application/problem+json")
        let query = try run(path, ["-sS", "-G", "--data-urlencode", "EQ_bizStep=shipping", "\(base)/events"])
        #expect((try JSONParser.parse(Array(query.output.utf8), limits: EPCISDocumentParser.limits)).objectValue?["type"]?.stringValue == "EPCISQueryDocument")
    }
}
