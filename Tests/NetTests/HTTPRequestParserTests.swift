import Testing
@testable import Net

/// Parses `text` fed in one piece and again byte by byte; both must agree.
private func parse(_ text: String, limits: HTTPLimits = .default) throws(HTTPParseError) -> [HTTPRequest] {
    let bytes = Array(text.utf8)
    var whole = HTTPRequestParser(limits: limits)
    whole.append(bytes)
    var requests: [HTTPRequest] = []
    while let request = try whole.nextRequest() { requests.append(request) }

    var split = HTTPRequestParser(limits: limits)
    var again: [HTTPRequest] = []
    for byte in bytes {
        split.append([byte])
        while let request = try split.nextRequest() { again.append(request) }
    }
    #expect(again == requests)
    return requests
}

private func expectError(_ text: String, _ code: String, status: Int, limits: HTTPLimits = .default,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try parse(text, limits: limits)
        Issue.record("expected \(code)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.code == code, sourceLocation: sourceLocation)
        #expect(error.status == status, sourceLocation: sourceLocation)
    }
}

@Suite struct HTTPRequestParserTests {
    @Test func simpleGet() throws {
        let requests = try parse("GET /fed/v1/deltas?cursor=3 HTTP/1.1\r\nHost: kz\r\nAccept: */*\r\n\r\n")
        #expect(requests.count == 1)
        let request = try #require(requests.first)
        #expect(request.method == .get)
        #expect(request.path == "/fed/v1/deltas")
        #expect(request.query == "cursor=3")
        #expect(request.headers["HOST"] == "kz")
        #expect(request.keepAlive)
        #expect(request.body.isEmpty)
    }

    @Test func contentLengthBodyAndPipelining() throws {
        let text = "POST /capture HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
            + "GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        let requests = try parse(text)
        #expect(requests.count == 2)
        #expect(requests[0].body == Array("hello".utf8))
        #expect(requests[1].method == .get)
        #expect(!requests[1].keepAlive)
    }

    @Test func chunkedWithExtensionsAndTrailers() throws {
        let text = "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nDigest: sha-256=abc\r\n\r\n"
        let request = try #require(try parse(text).first)
        #expect(request.body == Array("hello world".utf8))
        #expect(request.trailers["digest"] == "sha-256=abc")
    }

    @Test func keepAliveRules() throws {
        #expect(try parse("GET / HTTP/1.0\r\n\r\n")[0].keepAlive == false)
        #expect(try parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")[0].keepAlive)
        #expect(try parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n")[0].keepAlive == false)
    }

    @Test func leadingEmptyLineIgnored() throws {
        #expect(try parse("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").count == 1)
    }

    @Test func expectContinue() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        #expect(try parser.nextRequest() == nil)
        let first = parser.takeContinueRequest(), second = parser.takeContinueRequest()
        #expect(first && !second)
        #expect(parser.progress == .body)
        parser.append(Array("ok".utf8))
        #expect(try parser.nextRequest()?.body == Array("ok".utf8))
        #expect(parser.progress == .idle)
        expectError("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: tea\r\nContent-Length: 2\r\n\r\nok",
                    "http.expectation_failed", status: 417)
    }

    @Test func expectIgnoredInHTTP10() throws {
        // Found by the fuzzer (a harness invariant, not a parser bug): HTTP/1.0 ignores Expect.
        let request = try #require(try parse("PUT /x HTTP/1.0\r\nExpect: 100-contin: 1\r\n\r\n").first)
        #expect(request.version == .http1_0)
    }

    @Test func progressTracksHeadAndBody() throws {
        var parser = HTTPRequestParser()
        #expect(parser.progress == .idle)
        parser.append(Array("G".utf8))
        #expect(try parser.nextRequest() == nil)
        #expect(parser.progress == .head)
    }

    @Test func lineEndingsAreStrict() throws {
        expectError("GET / HTTP/1.1\nHost: a\r\n\r\n", "http.bare_lf", status: 400)
        expectError("GET / HTTP/1.1\r\nHost: a\n\r\n", "http.bare_lf", status: 400)
        expectError("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "http.bare_cr", status: 400)
    }

    @Test func obsFoldRejected() throws {
        expectError("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", "http.obs_fold", status: 400)
    }

    @Test func invalidTokens() throws {
        expectError("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "http.bad_method", status: 400)
        expectError("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", "http.bad_header_name", status: 400)
        expectError("GET / HTTP/1.1\r\nHost: a\r\nName : x\r\n\r\n", "http.bad_header_name", status: 400)
        expectError("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", "http.bad_header_name", status: 400)
        expectError("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", "http.bad_header_value", status: 400)
        expectError("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", "http.bad_target", status: 400)
        expectError("GET a HTTP/1.1\r\nHost: a\r\n\r\n", "http.bad_target", status: 400)
        expectError("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "http.bad_target", status: 400)
        expectError("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", "http.bad_target", status: 400)
        expectError("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", "http.bad_version", status: 400)
        expectError("garbage\r\n\r\n", "http.bad_start_line", status: 400)
    }

    @Test func methodAndVersionSupport() throws {
        expectError("BREW / HTTP/1.1\r\nHost: a\r\n\r\n", "http.method_not_implemented", status: 501)
        expectError("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", "http.method_not_implemented", status: 501)
        expectError("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "http.version_not_supported", status: 505)
        expectError("GET / HTTP/1.2\r\nHost: a\r\n\r\n", "http.version_not_supported", status: 505)
        expectError("GET / http/1.1\r\nHost: a\r\n\r\n", "http.bad_version", status: 400)
    }

    @Test func hostRequiredOnceInHTTP11() {
        expectError("GET / HTTP/1.1\r\n\r\n", "http.missing_host", status: 400)
        expectError("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "http.missing_host", status: 400)
    }

    @Test func contentLengthRules() throws {
        expectError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
                    "http.duplicate_content_length", status: 400)
        expectError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
                    "http.duplicate_content_length", status: 400)
        expectError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx", "http.bad_content_length", status: 400)
        expectError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "http.bad_content_length", status: 400)
        expectError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", "http.bad_content_length", status: 400)
        expectError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
                    "http.bad_content_length", status: 400)
    }

    @Test func smugglingRejected() throws {
        expectError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                    "http.length_and_transfer_encoding", status: 400)
        expectError("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                    "http.unsupported_transfer_coding", status: 501)
        expectError("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                    "http.unsupported_transfer_coding", status: 501)
        expectError("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                    "http.transfer_encoding_http10", status: 400)
    }

    @Test func malformedChunks() throws {
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        expectError(head + "z\r\n", "http.bad_chunk", status: 400)
        expectError(head + "3\r\nabcX\r\n", "http.bad_chunk", status: 400)
        expectError(head + "1000000000000000\r\n", "http.bad_chunk", status: 400)
        expectError(head + "3 \r\nabc\r\n0\r\n\r\n", "http.bad_chunk", status: 400)
        expectError(head + "0\r\nContent-Length: 5\r\n\r\n", "http.bad_trailer", status: 400)
    }

    @Test func headerLimits() throws {
        let small = HTTPLimits(maxHeaderBytes: 128, maxHeaderCount: 3, maxBodyBytes: 10, maxURILength: 32)
        expectError("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 200) + "\r\n\r\n",
                    "http.header_too_large", status: 431, limits: small)
        expectError("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
                    "http.too_many_headers", status: 431, limits: small)
        expectError("GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "\r\n", count: 100),
                    "http.header_too_large", status: 431, limits: small)
    }

    @Test func uriLimit() throws {
        let limits = HTTPLimits(maxURILength: 32)
        expectError("GET /" + String(repeating: "a", count: 40) + " HTTP/1.1\r\nHost: a\r\n\r\n",
                    "http.uri_too_long", status: 414, limits: limits)
        // Without a line end yet: refused as soon as the line cannot hold a legal target.
        var parser = HTTPRequestParser(limits: limits)
        parser.append(Array(("GET /" + String(repeating: "a", count: 200)).utf8))
        #expect(throws: HTTPParseError.uriTooLong) { try parser.nextRequest() }
    }

    @Test func bodyLimit() throws {
        let limits = HTTPLimits(maxBodyBytes: 10)
        expectError("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", "http.body_too_large", status: 413, limits: limits)
        expectError("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n",
                    "http.body_too_large", status: 413, limits: limits)
    }

    @Test func errorIsSticky() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("GET / HTTP/1.1\nHost: a\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.bareLF) { try parser.nextRequest() }
        parser.append(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.bareLF) { try parser.nextRequest() }
    }

    @Test func truncatedAtEnd() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab".utf8))
        #expect(try parser.nextRequest() == nil)
        #expect(throws: HTTPParseError.truncated) { try parser.finish() }
    }

    @Test func errorResponseIsAProblemReport() throws {
        let response = HTTPParseError.bodyTooLarge.response
        #expect(response.status == 413)
        #expect(String(decoding: response.body, as: UTF8.self).contains("\"code\":\"http.body_too_large\""))
    }
}
