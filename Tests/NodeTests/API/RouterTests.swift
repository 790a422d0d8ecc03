import Foundation
import Testing
import Model
import Net
@testable import Node

@Suite struct RouterTests {
    let context = RequestContext(peerIdentity: nil, peerCertificate: nil, remoteAddress: "127.0.0.1:1", isSecure: false)

    let router = Router(routes: [
        Route(.get, "/things") { _ throws(APIProblem) in .json(.object(["list": true])) },
        Route(.post, "/things") { _ throws(APIProblem) in .json(.object(["created": true])) },
        Route(.get, "/things/{id}") { request throws(APIProblem) in
            guard request.parameters["id"] != "missing" else { throw .notFound("thing.not_found", "no such thing") }
            return .json(.object(["id": .string(request.parameters["id"] ?? "")]))
        },
        Route(.delete, "/things/{id}/parts/{part}") { request throws(APIProblem) in
            .json(.object(["id": .string(request.parameters["id"] ?? ""), "part": .string(request.parameters["part"] ?? "")]))
        },
    ])

    func respond(_ method: HTTPMethod, _ target: String) -> (response: HTTPResponse, route: String) {
        router.respond(to: HTTPRequest(method: method, target: target), context: context)
    }

    /// Every problem has the RFC 9457 members plus a code, and type names the code.
    func expectProblem(_ response: HTTPResponse, status: Int, code: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(response.headers["Content-Type"] == "application/problem+json", sourceLocation: sourceLocation)
        let object = response.jsonObject
        #expect(object?["type"]?.stringValue == "urn:fedtrace:problem:\(code)", sourceLocation: sourceLocation)
        #expect(object?["title"]?.stringValue == HTTPResponse.standardReason(for: status), sourceLocation: sourceLocation)
        #expect(object?["status"]?.intValue == status, sourceLocation: sourceLocation)
        #expect(object?["detail"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(object?["code"]?.stringValue == code, sourceLocation: sourceLocation)
    }

    @Test func matchesMethodAndPattern() {
        #expect(respond(.get, "/things").response.jsonObject?["list"] == .bool(true))
        #expect(respond(.post, "/things").response.jsonObject?["created"] == .bool(true))
        let (response, route) = respond(.get, "/things/a%2Fb%3Fc?x=1")
        #expect(response.jsonObject?["id"]?.stringValue == "a/b?c")
        #expect(route == "/things/{id}")
        let deep = respond(.delete, "/things/7/parts/w%20x").response.jsonObject
        #expect(deep?["id"]?.stringValue == "7" && deep?["part"]?.stringValue == "w x")
        #expect(respond(.get, "http://127.0.0.1:8443/things").response.status == 200)
    }

    @Test func headIsAnsweredByTheGetRoute() {
        #expect(respond(.head, "/things").response.status == 200)
    }

    @Test func unknownPathIs404() {
        for target in ["/", "/thing", "/things/", "/things/a/b", "/nope?x=1", "*"] {
            let (response, route) = respond(.get, target)
            expectProblem(response, status: 404, code: "http.not_found")
            #expect(route == Router.unmatchedRoute)
        }
    }

    @Test func wrongMethodIs405WithAllow() {
        let (response, _) = respond(.delete, "/things")
        expectProblem(response, status: 405, code: "http.method_not_allowed")
        #expect(response.headers["Allow"] == "GET, HEAD, POST")
        let one = respond(.put, "/things/1").response
        expectProblem(one, status: 405, code: "http.method_not_allowed")
        #expect(one.headers["Allow"] == "GET, HEAD")
        #expect(respond(.get, "/things/1/parts/2").response.headers["Allow"] == "DELETE")
    }

    @Test func handlerProblemsKeepTheirStatusAndRoute() {
        let (response, route) = respond(.get, "/things/missing")
        expectProblem(response, status: 404, code: "thing.not_found")
        #expect(route == "/things/{id}")
    }

    @Test func badPercentEncodingIs400() {
        expectProblem(respond(.get, "/things/%ZZ").response, status: 400, code: "http.bad_path_encoding")
        expectProblem(respond(.get, "/things/%FF").response, status: 400, code: "http.bad_path_encoding")
    }

    @Test func problemCarriesExtensionMembersAndHeaders() {
        let problem = APIProblem(status: 400, code: "epcis.invalid", detail: "bad", members: ["event": 2, "field": "eventTime", "status": 999],
                                 headers: ["X-Test": "1"])
        let response = problem.response
        #expect(response.headers["X-Test"] == "1")
        let object = response.jsonObject
        #expect(object?["event"]?.intValue == 2)
        #expect(object?["field"]?.stringValue == "eventTime")
        #expect(object?["status"]?.intValue == 400, "extension members never override standard ones")
        #expect(object?.keys.prefix(5) == ["type", "title", "status", "detail", "code"])
    }

    @Test func netProblemsHaveTheSameShape() {
        expectProblem(HTTPResponse.problem(status: 413, code: "http.body_too_large", reason: "too large"), status: 413, code: "http.body_too_large")
    }
}
