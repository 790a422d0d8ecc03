#!/usr/bin/env python3
"""Generate EPCIS 2.0 documents of many shapes and their CBV 2.0 event hash IDs as GS1
Germany's reference implementation computes them (PyPI epcis-event-hash-generator 1.9.3).

Usage: python3 make_hash_vectors.py   (needs the reference package importable: e.g.
  python3 -m venv /tmp/ref && /tmp/ref/bin/pip install epcis-event-hash-generator==1.9.3
  /tmp/ref/bin/python make_hash_vectors.py)

Writes hash-documents/docNNN.jsonld and hash-vectors.tsv (file, event index, hash ID,
pre-hash) beside this script. Deterministic: the same seed gives the same files. Events
on which the reference itself fails are left out of the TSV (the documents are kept).
"""
import json, os, random, sys
from epcis_event_hash_generator.hash_generator import derive_prehashes_from_events, calculate_hashes_from_pre_hashes
from epcis_event_hash_generator.json_to_py import event_list_from_epcis_document_json

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "hash-documents")
rng = random.Random(20261123)

BIZ_STEPS = ["commissioning", "packing", "unpacking", "shipping", "receiving", "loading", "storing", "decommissioning", "accepting", "holding", "inspecting"]
DISPOSITIONS = ["active", "in_progress", "in_transit", "sellable_accessible", "inactive", "recalled", "destroyed"]
BTT = ["po", "inv", "desadv", "recadv", "bol", "prodorder"]
SDT = ["owning_party", "possessing_party", "location"]
SENSOR_TYPES = ["Temperature", "AbsoluteHumidity", "Mass", "Length"]
PREFIX_LENGTHS = [6, 7, 8, 9, 10, 11, 12]

def digits(n):
    return "".join(rng.choice("0123456789") for _ in range(n))

def serial():
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789" + ("-_" if rng.random() < 0.2 else "")
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20)))

def sgtin():
    cp = rng.choice(PREFIX_LENGTHS)
    urn = "urn:epc:id:sgtin:%s.%s.%s" % (digits(cp), digits(13 - cp), serial())
    if rng.random() < 0.4:
        return urn
    gtin = digits(14)
    style = rng.random()
    if style < 0.6:
        return "https://id.gs1.org/01/%s/21/%s" % (gtin, serial())
    if style < 0.8:
        return "https://example.com/gtin/%s/ser/%s?linkType=x" % (gtin, serial())
    return "https://id.gs1.org/01/%s/10/LOT%s/21/%s" % (gtin, digits(3), serial())

def sscc():
    cp = rng.choice(PREFIX_LENGTHS)
    if rng.random() < 0.5:
        return "urn:epc:id:sscc:%s.%s" % (digits(cp), digits(17 - cp))
    return "https://id.gs1.org/00/%s" % digits(18)

def sgln():
    cp = rng.choice(PREFIX_LENGTHS)
    ext = rng.choice(["0", "0", digits(3), "A1"])
    if rng.random() < 0.6:
        return "urn:epc:id:sgln:%s.%s.%s" % (digits(cp), digits(12 - cp), ext)
    return "https://id.gs1.org/414/%s" % digits(13) + ("" if rng.random() < 0.5 else "/254/%s" % digits(2))

def epc_class():
    cp = rng.choice(PREFIX_LENGTHS)
    r = rng.random()
    if r < 0.4:
        return "urn:epc:class:lgtin:%s.%s.%s" % (digits(cp), digits(13 - cp), serial())
    if r < 0.6:
        return "urn:epc:idpat:sgtin:%s.%s.*" % (digits(cp), digits(13 - cp))
    return "https://id.gs1.org/01/%s/10/%s" % (digits(14), serial())

def timestamp():
    y, mo, d = rng.randint(2000, 2030), rng.randint(1, 12), rng.randint(1, 28)
    h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    frac = rng.choice(["", ".%s" % digits(1), ".%s" % digits(3), ".%s" % digits(6), ".%s" % digits(2)])
    off = rng.choice(["Z", "+00:00", "+05:00", "-06:00", "+02:00", "+05:30", "-03:30"])
    return "%04d-%02d-%02dT%02d:%02d:%02d%s%s" % (y, mo, d, h, mi, s, frac, off)

def offset():
    return rng.choice(["+05:00", "-06:00", "+02:00", "+00:00", "+05:30"])

def vocab(word, urn_kind, uri_kind):
    r = rng.random()
    if r < 0.6:
        return word
    if r < 0.8:
        return "https://ref.gs1.org/cbv/%s-%s" % (uri_kind, word)
    return "urn:epcglobal:cbv:%s:%s" % (urn_kind, word)

def number():
    return rng.choice([rng.randint(0, 100000), round(rng.uniform(0, 1000), rng.randint(1, 3)), 0, 1.0, 2.5e-6, 1e16, 7.25])

def extension_value(depth=0):
    r = rng.random()
    if depth < 2 and r < 0.15:
        return {"tt:name": "Importer %s" % digits(3), "tt:identifier": "https://id.gs1.org/417/%s" % digits(13), "tt:country": rng.choice(["UA", "KZ", "DE"])}
    if depth < 2 and r < 0.25:
        return [rng.choice(["KZ", "RU", "UA", "PL", "DE"]) for _ in range(rng.randint(1, 4))]
    if r < 0.35:
        return number()
    if r < 0.4:
        return rng.choice([True, False])
    if r < 0.45:
        return digits(rng.randint(1, 6))  # numeric-looking string
    if r < 0.5:
        return rng.choice(BIZ_STEPS + DISPOSITIONS)  # a CBV word in an extension
    if r < 0.55:
        return "ex:" + serial()  # a value with a declared prefix
    return "value %s" % serial()

def extensions(event, prefix="tt:"):
    for _ in range(rng.randint(0, 4)):
        event[prefix + rng.choice(["intendedMarket", "consignee", "intendedRoute", "productDescription", "brand", "batch", "note", "machineID", "productionShift", "transport"])] = extension_value()
    if rng.random() < 0.15:
        event["ex:vendorField"] = extension_value()

def base(kind):
    event = {"type": kind, "eventTime": timestamp(), "eventTimeZoneOffset": offset()}
    if rng.random() < 0.5:
        event["recordTime"] = timestamp()
    if rng.random() < 0.3:
        event["eventID"] = "urn:uuid:%s-%s-4%s-a%s-%s" % (digits(8), digits(4), digits(3), digits(3), digits(12))
    if rng.random() < 0.8:
        event["bizStep"] = vocab(rng.choice(BIZ_STEPS), "bizstep", "BizStep")
    if rng.random() < 0.7:
        event["disposition"] = vocab(rng.choice(DISPOSITIONS), "disp", "Disp")
    if rng.random() < 0.8:
        event["readPoint"] = {"id": sgln()}
        if rng.random() < 0.1:
            event["readPoint"]["tt:gate"] = digits(2)
    if rng.random() < 0.6:
        event["bizLocation"] = {"id": sgln()}
    if rng.random() < 0.4:
        event["bizTransactionList"] = [{"type": vocab(rng.choice(BTT), "btt", "BTT"), "bizTransaction": "urn:epcglobal:cbv:bt:%s:%s" % (digits(13), digits(5))} for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.3:
        event["sourceList"] = [{"type": vocab(rng.choice(SDT), "sdt", "SDT"), "source": rng.choice([sgln(), "urn:epc:id:pgln:%s.%s" % (digits(7), digits(5))])} for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.3:
        event["destinationList"] = [{"type": vocab(rng.choice(SDT), "sdt", "SDT"), "destination": sgln()} for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.1:
        event["sensorElementList"] = [{
            "sensorMetadata": {"time": timestamp(), "deviceID": "urn:epc:id:giai:%s.%s" % (digits(7), digits(5))},
            "sensorReport": [{"type": rng.choice(SENSOR_TYPES), "value": number(), "uom": rng.choice(["CEL", "KGM", "A93"])}
                             for _ in range(rng.randint(1, 2))]}]
    if rng.random() < 0.08:
        event["persistentDisposition"] = {"set": [rng.choice(DISPOSITIONS)], "unset": [rng.choice(DISPOSITIONS)]}
    if rng.random() < 0.05:
        event["certificationInfo"] = "https://cert.example.com/%s" % digits(5)
    if rng.random() < 0.05:
        event["errorDeclaration"] = {"declarationTime": timestamp(), "reason": rng.choice(["incorrect_data", "did_not_occur"])}
    extensions(event)
    return event

def make_event():
    kind = rng.choice(["ObjectEvent", "ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"])
    event = base(kind)
    if kind != "TransformationEvent":
        event["action"] = rng.choice(["ADD", "OBSERVE", "DELETE"])
    if kind == "ObjectEvent":
        if rng.random() < 0.8:
            event["epcList"] = [sgtin() for _ in range(rng.randint(1, 12))]
        if rng.random() < 0.3:
            event["quantityList"] = [{"epcClass": epc_class(), "quantity": number(), "uom": "KGM"} if rng.random() < 0.5 else {"epcClass": epc_class(), "quantity": number()} for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:
            event["ilmd"] = {"tt:manufactureCountry": "KZ", "tt:productCategory": "cigarettes", "tt:productionShift": rng.choice(["A", "B", "C"]), "tt:productionTime": timestamp()}
            extensions(event["ilmd"])
    elif kind in ("AggregationEvent", "AssociationEvent"):
        event["parentID"] = sscc() if kind == "AggregationEvent" else "urn:epc:id:grai:%s.%s.%s" % (digits(7), digits(5), digits(4))
        if rng.random() < 0.9:
            event["childEPCs"] = [sgtin() if rng.random() < 0.7 else sscc() for _ in range(rng.randint(1, 10))]
        if rng.random() < 0.2:
            event["childQuantityList"] = [{"epcClass": epc_class(), "quantity": number()}]
    elif kind == "TransactionEvent":
        if "bizTransactionList" not in event:
            event["bizTransactionList"] = [{"type": "inv", "bizTransaction": "https://invoices.example.com/%s" % digits(6)}]
        if rng.random() < 0.5:
            event["parentID"] = sscc()
        event["epcList"] = [sgtin() for _ in range(rng.randint(1, 4))]
    else:
        event["inputEPCList"] = [sgtin() for _ in range(rng.randint(1, 3))]
        event["outputEPCList"] = [sgtin() for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.4:
            event["inputQuantityList"] = [{"epcClass": epc_class(), "quantity": number(), "uom": "KGM"}]
        if rng.random() < 0.3:
            event["transformationID"] = "urn:epc:id:gdti:0614141.12345.%s" % digits(3)
    keys = list(event.keys())
    rng.shuffle(keys)
    return {k: event[k] for k in keys}

def main():
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for n in range(80):
        events = [make_event() for _ in range(rng.randint(3, 12))]
        doc = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                            {"tt": "https://ns.fedtrace.org/tobacco/1/", "ex": "http://ns.example.com/epcis/"}],
               "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-11-23T00:00:00Z",
               "epcisBody": {"eventList": events}}
        name = "doc%03d.jsonld" % n
        text = json.dumps(doc, indent=1, ensure_ascii=False)
        with open(os.path.join(OUT, name), "w") as f:
            f.write(text + "\n")
        for i, event in enumerate(events):
            single = dict(doc)
            single["epcisBody"] = {"eventList": [event]}
            try:
                # Hash each event within the whole document (bare words resolve per document).
                parsed = event_list_from_epcis_document_json(json.loads(text))
                prehashes = derive_prehashes_from_events(("EventList", "", [parsed[2][i]]))
                hashes = calculate_hashes_from_pre_hashes(prehashes)
            except Exception as e:
                print("reference failed on %s event %d: %s" % (name, i, e), file=sys.stderr)
                continue
            if len(hashes) == 1:
                rows.append((name, i, hashes[0], prehashes[0]))
    with open(os.path.join(HERE, "hash-vectors.tsv"), "w") as f:
        f.write("file\tevent_index\tevent_hash_id\tprehash\n")
        for row in rows:
            f.write("%s\t%d\t%s\t%s\n" % (row[0], row[1], row[2], row[3].replace("\t", " ").replace("\n", " ")))
    print("%d documents, %d events with reference hashes" % (80, len(rows)))

main()
