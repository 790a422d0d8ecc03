import Testing
@testable import Net

@Suite struct HTTPSerializerTests {
    @Test func responseRoundTrips() throws {
        var response = HTTPResponse(status: 200, headers: ["Content-Type": "text/plain", "Content-Length": "999"],
                                    body: Array("hi".utf8))
        response.headers.add(name: "X-Party", value: "urn:fctc:party:KZ")
        let bytes = response.serialized(keepAlive: false, date: "Sun, 06 Nov 1994 08:49:37 GMT")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("Content-Length: 2\r\n"))
        #expect(!text.contains("999"))
        #expect(text.contains("Connection: close\r\n"))
        var parser = HTTPResponseParser()
        parser.append(bytes)
        let parsed = try #require(try parser.nextResponse(for: .get))
        #expect(parsed.body == Array("hi".utf8))
        #expect(parsed.headers["x-party"] == "urn:fctc:party:KZ")
        #expect(!parsed.keepAlive)
    }

    @Test func headerInjectionBecomes500() {
        let response = HTTPResponse(status: 200, headers: ["X-Evil": "a\r\nSet-Cookie: b"])
        let text = String(decoding: response.serialized(keepAlive: true), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 500 "))
        #expect(!text.contains("Set-Cookie"))
    }

    @Test func headResponseOmitsBody() throws {
        let response = HTTPResponse(status: 200, body: Array("hello".utf8))
        let text = String(decoding: response.serialized(keepAlive: true, requestMethod: .head), as: UTF8.self)
        #expect(text.contains("Content-Length: 5\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
    }

    @Test func requestRoundTrips() throws {
        let request = HTTPRequest(method: .post, target: "/fed/v1/deltas", body: Array("{}".utf8))
        let bytes = try request.serialized(host: "127.0.0.1:8443")
        var parser = HTTPRequestParser()
        parser.append(bytes)
        let parsed = try #require(try parser.nextRequest())
        #expect(parsed.headers["host"] == "127.0.0.1:8443")
        #expect(parsed.body == Array("{}".utf8))
        #expect(throws: HTTPSerializer.invalidRequest) {
            try HTTPRequest(method: .get, target: "/a b").serialized(host: "h")
        }
    }
}
