/// The OpenAPI 3.0 description of the local API, served at `GET /openapi.json`. Kept as a
/// string constant so the binary needs no resource files; a test checks that it parses and
/// lists exactly the router's routes.
public enum OpenAPIDocument {
    public static let json = #"""
{
  "openapi": "3.0.3",
  "info": {
    "title": "FedTrace local API",
    "version": "1",
    "description": "EPCIS 2.0 capture and query for a FedTrace node (WHO FCTC Article 8 tracking and tracing). Every error is an RFC 9457 problem report with a stable code."
  },
  "servers": [{"url": "http://127.0.0.1:8443"}],
  "components": {
    "securitySchemes": {
      "bearer": {"type": "http", "scheme": "bearer", "description": "Required when node.json sets apiTokenFile."}
    },
    "responses": {
      "Problem": {
        "description": "A problem report (RFC 9457) with a stable code.",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
      }
    },
    "schemas": {
      "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
          "type": {"type": "string", "description": "urn:fedtrace:problem:<code>"},
          "title": {"type": "string"},
          "status": {"type": "integer"},
          "detail": {"type": "string"},
          "code": {"type": "string", "description": "Stable machine-readable code, e.g. epcis.invalid, query.unknown_parameter"},
          "document": {"type": "string"},
          "event": {"type": "integer", "description": "Index of the faulty event in the document"},
          "field": {"type": "string"},
          "line": {"type": "integer"},
          "column": {"type": "integer"},
          "parameter": {"type": "string", "description": "The faulty query parameter"}
        }
      },
      "CaptureResult": {
        "type": "object",
        "required": ["captured", "duplicates", "eventHashIDs"],
        "properties": {
          "captured": {"type": "integer"},
          "duplicates": {"type": "integer"},
          "eventHashIDs": {"type": "array", "items": {"type": "string"}},
          "capturedEventHashIDs": {"type": "array", "items": {"type": "string"}},
          "duplicateEventHashIDs": {"type": "array", "items": {"type": "string"}}
        }
      },
      "EPCISQueryDocument": {
        "type": "object",
        "description": "EPCIS 2.0 query document; eventList holds the events exactly as captured.",
        "properties": {
          "@context": {"type": "array", "items": {}},
          "type": {"type": "string", "enum": ["EPCISQueryDocument"]},
          "schemaVersion": {"type": "string"},
          "creationDate": {"type": "string", "format": "date-time"},
          "epcisBody": {"type": "object", "properties": {"queryResults": {"type": "object", "properties": {
            "queryName": {"type": "string"},
            "resultsBody": {"type": "object", "properties": {"eventList": {"type": "array", "items": {"type": "object"}}}}
          }}}},
          "nextPageToken": {"type": "string"}
        }
      },
      "Trace": {
        "type": "object",
        "properties": {
          "uim": {"type": "string"},
          "found": {"type": "boolean"},
          "truncated": {"type": "boolean"},
          "levels": {"type": "array", "items": {"type": "object", "properties": {
            "uim": {"type": "string"}, "depth": {"type": "integer"}, "parent": {"type": "string", "nullable": true}}}},
          "events": {"type": "array", "items": {"type": "object"}}
        }
      },
      "Status": {
        "type": "object",
        "properties": {
          "party": {"type": "string"}, "role": {"type": "string"}, "data": {"type": "string"},
          "events": {"type": "integer"}, "localEvents": {"type": "integer"}, "receivedEvents": {"type": "integer"},
          "uims": {"type": "integer"}, "aggregationLinks": {"type": "integer"},
          "auditRecords": {"type": "integer"}, "auditIntact": {"type": "boolean"},
          "lastAudit": {"type": "string", "nullable": true}
        }
      }
    }
  },
  "security": [{}, {"bearer": []}],
  "paths": {
    "/capture": {
      "post": {
        "summary": "Capture an EPCIS 2.0 document (stored whole or not at all)",
        "operationId": "capture",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/ld+json": {"schema": {"type": "object"}}
          }
        },
        "responses": {
          "200": {"description": "Stored (durably committed)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CaptureResult"}}}},
          "400": {"$ref": "#/components/responses/Problem"},
          "401": {"$ref": "#/components/responses/Problem"},
          "413": {"$ref": "#/components/responses/Problem"},
          "415": {"$ref": "#/components/responses/Problem"},
          "500": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/events": {
      "get": {
        "summary": "Query events (EPCIS 2.0 query parameters; comma-separated values mean any of)",
        "operationId": "events",
        "parameters": [
          {"name": "EQ_type", "in": "query", "schema": {"type": "string"}, "description": "ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent"},
          {"name": "EQ_action", "in": "query", "schema": {"type": "string"}, "description": "ADD, OBSERVE, DELETE"},
          {"name": "EQ_bizStep", "in": "query", "schema": {"type": "string"}, "description": "CBV word (shipping) or URI"},
          {"name": "EQ_disposition", "in": "query", "schema": {"type": "string"}},
          {"name": "EQ_readPoint", "in": "query", "schema": {"type": "string"}},
          {"name": "EQ_bizLocation", "in": "query", "schema": {"type": "string"}},
          {"name": "MATCH_epc", "in": "query", "schema": {"type": "string"}, "description": "Identifier in epcList, childEPCs, input or output lists"},
          {"name": "MATCH_anyEPC", "in": "query", "schema": {"type": "string"}, "description": "Identifier in any role, parentID included"},
          {"name": "MATCH_parentID", "in": "query", "schema": {"type": "string"}},
          {"name": "GE_eventTime", "in": "query", "schema": {"type": "string", "format": "date-time"}},
          {"name": "LT_eventTime", "in": "query", "schema": {"type": "string", "format": "date-time"}},
          {"name": "perPage", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}},
          {"name": "nextPageToken", "in": "query", "schema": {"type": "string"}, "description": "Opaque; from the previous page (body or Link header), with the same filters"}
        ],
        "responses": {
          "200": {
            "description": "One page of events, oldest stored first",
            "headers": {"Link": {"schema": {"type": "string"}, "description": "<…>; rel=\"next\" when there is another page"}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EPCISQueryDocument"}}}
          },
          "400": {"$ref": "#/components/responses/Problem"},
          "401": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/events/{eventHashID}": {
      "get": {
        "summary": "One event by its CBV 2.0 hash ID (with its error declaration, if any)",
        "operationId": "event",
        "parameters": [{"name": "eventHashID", "in": "path", "required": true, "schema": {"type": "string"}, "description": "ni:///sha-256;…?ver=CBV2.0, percent-encoded as one path segment"}],
        "responses": {
          "200": {"description": "The event", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EPCISQueryDocument"}}}},
          "404": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/trace/{uim}": {
      "get": {
        "summary": "Follow aggregation up and down from a UIM, with each level's events",
        "operationId": "trace",
        "parameters": [
          {"name": "uim", "in": "path", "required": true, "schema": {"type": "string"}, "description": "EPC URN or GS1 Digital Link, percent-encoded"},
          {"name": "maxUIMs", "in": "query", "schema": {"type": "integer", "default": 5000}}
        ],
        "responses": {
          "200": {"description": "The trace", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Trace"}}}},
          "404": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/status": {
      "get": {
        "summary": "Node identity, stored data and audit state (as fedtrace status --json)",
        "operationId": "status",
        "responses": {"200": {"description": "Status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}}
      }
    },
    "/health": {
      "get": {
        "summary": "Cheap liveness check: 200 when the store answers",
        "operationId": "health",
        "responses": {
          "200": {"description": "Healthy", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}},
          "503": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus text exposition 0.0.4: requests by route and status, latency histograms, stored events, audit records",
        "operationId": "metrics",
        "responses": {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}
      }
    },
    "/openapi.json": {
      "get": {
        "summary": "This document",
        "operationId": "openapi",
        "responses": {"200": {"description": "OpenAPI 3.0 document", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    },
    "/enquiries": {
      "post": {
        "summary": "Send an enquiry (Art. 8.9) about UIMs to the Party that issued them (docs/hub.md section 3)",
        "operationId": "sendEnquiry",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["purpose", "caseReference"], "properties": {
          "uim": {"type": "string"}, "uims": {"type": "array", "items": {"type": "string"}}, "purpose": {"type": "string", "enum": ["illicit-trade-detection", "investigation", "prosecution", "risk-analysis"]},
          "caseReference": {"type": "string"}, "to": {"type": "string", "description": "the responder: XX or urn:fctc:party:XX; without it, the UIMs' owner from the directory"}}}}}},
        "responses": {
          "201": {"description": "The enquiry as stored: sent, delivered, answered or refused", "content": {"application/json": {"schema": {"type": "object"}}}},
          "400": {"$ref": "#/components/responses/Problem"},
          "422": {"$ref": "#/components/responses/Problem"}
        }
      },
      "get": {
        "summary": "Enquiries sent and received, newest first; status sent, delivered, answered, refused, overdue or pending",
        "operationId": "listEnquiries",
        "parameters": [
          {"name": "role", "in": "query", "schema": {"type": "string", "enum": ["requester", "responder"]}},
          {"name": "status", "in": "query", "schema": {"type": "string"}}
        ],
        "responses": {"200": {"description": "Enquiries", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}}
      }
    },
    "/enquiries/{id}": {
      "get": {
        "summary": "One enquiry, with the events of its answer (the trace)",
        "operationId": "showEnquiry",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "urn:uuid:..., the UUID, or a unique prefix"}],
        "responses": {
          "200": {"description": "The enquiry", "content": {"application/json": {"schema": {"type": "object"}}}},
          "404": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/enquiries/{id}/approve": {
      "post": {
        "summary": "Approve an enquiry waiting for an officer: it is answered with the redacted trace",
        "operationId": "approveEnquiry",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "The enquiry, answered", "content": {"application/json": {"schema": {"type": "object"}}}},
          "404": {"$ref": "#/components/responses/Problem"},
          "409": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/enquiries/{id}/reject": {
      "post": {
        "summary": "Reject an enquiry waiting for an officer: a signed refusal with the reason goes to the requester",
        "operationId": "rejectEnquiry",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}}}},
        "responses": {
          "200": {"description": "The enquiry, refused", "content": {"application/json": {"schema": {"type": "object"}}}},
          "400": {"$ref": "#/components/responses/Problem"},
          "404": {"$ref": "#/components/responses/Problem"},
          "409": {"$ref": "#/components/responses/Problem"}
        }
      }
    }
  }
}
"""#
}
