#!/usr/bin/env python3
"""Differential test vectors for FedTrace's DigitalLinkNormalizer.

Builds a deterministic corpus of inputs (valid and near-valid EPC URIs of every scheme and
company-prefix length, EPC class and ID pattern URIs, GS1 Digital Link URIs, mutants of all
of them, random strings, plain values) and records what the reference implementation,
GS1 Germany's `epcis-event-hash-generator` 1.9.3 (`dl_normaliser.normaliser`), returns.

Run with the Python environment that has the reference installed:

    python make_dl_vectors.py digital-link-vectors.tsv

Output: one line per input, `input<TAB>expected`. `expected` is empty where the reference
returns None and `!raise` where it raises. Backslash, tab, CR and LF are written as
`\\\\`, `\\t`, `\\r`, `\\n` in both columns.
"""

import logging
import random
import sys

from epcis_event_hash_generator.dl_normaliser import normaliser

logging.disable(logging.CRITICAL)
rng = random.Random(20240611)

DIGITS = "0123456789"
EPC_SAFE = "!')(*+,.:;=_-" + DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ESCAPES_OK = ["%21", "%22", "%25", "%26", "%2F", "%2f", "%3C", "%3E", "%3F", "%41", "%5A", "%5F",
              "%61", "%7A", "%7a", "%5f", "%4F", "%6e"]
ESCAPES_BAD = ["%20", "%23", "%24", "%40", "%5B", "%60", "%7B", "%7F", "%G1", "%2", "%", "%2G", "%00"]
NON_ASCII_DIGITS = ["\u0663", "\uff15", "\u0967", "\u09ea", "\U0001d7ce"]


def digits(n):
    return "".join(rng.choice(DIGITS) for _ in range(n))


def serial(n, alphabet=EPC_SAFE):
    return "".join(rng.choice(alphabet) for _ in range(n))


def escaped_serial(n):
    """A serial of n tokens mixing plain characters and valid escapes."""
    return "".join(rng.choice(ESCAPES_OK) if rng.random() < 0.3 else rng.choice(EPC_SAFE) for _ in range(n))


def cp_ref(total, cp_len, double_dot=False):
    """Company prefix '.' reference with total digits; for 12-digit prefixes of 12-digit keys
    the reference's own pattern (one or two dots)."""
    cp = digits(cp_len)
    ref = digits(total - cp_len)
    if total - cp_len == 0 and double_dot:
        return cp + ".."[:1] + "."  # cp..
    return cp + "." + ref


inputs = []


def add(*values):
    inputs.extend(values)


def serial_variants(prefix, max_tokens):
    """Serial endings for `prefix` (which ends just before the serial)."""
    add(prefix + digits(1), prefix + digits(rng.randint(2, max_tokens)), prefix + serial(max_tokens),
        prefix + serial(max_tokens + 1), prefix + serial(max_tokens - 1), prefix + escaped_serial(rng.randint(1, max_tokens)),
        prefix + "", prefix + serial(3) + rng.choice(ESCAPES_BAD) + serial(2), prefix + "0",
        prefix + serial(4) + "\n", prefix + serial(4) + " ", prefix + serial(4) + "/x", prefix + serial(4) + "#",
        prefix + "ABC%2F" + serial(3), prefix + ("%41" * max_tokens), prefix + ("%41" * (max_tokens + 1)),
        prefix + serial(3) + "\u00e9", prefix + "a:b(c)d*e+f,g!h")


# EPC URIs with serials -----------------------------------------------------------------------
for scheme, total, max_tokens, two_dots, sep in [
    ("sgtin", 13, 20, False, "."), ("sgln", 12, 20, False, "."), ("grai", 12, 16, True, "."),
    ("gdti", 12, 20, True, ""), ("upui", 13, 28, False, "."),
]:
    for cp_len in range(5, 14):
        for _ in range(2):
            body = cp_ref(total, min(max(cp_len, 1), 13), two_dots) if cp_len <= 12 else digits(13) + "." + digits(max(total - 13, 0))
            prefix = "urn:epc:id:%s:%s%s" % (scheme, body, sep)
            serial_variants(prefix, max_tokens)
        if 6 <= cp_len <= 12:
            # wrong reference length, both directions
            add("urn:epc:id:%s:%s.%s%s%s" % (scheme, digits(cp_len), digits(total - cp_len + 1), sep, serial(5)))
            if total - cp_len > 0:
                add("urn:epc:id:%s:%s.%s%s%s" % (scheme, digits(cp_len), digits(total - cp_len - 1), sep, serial(5)))
            # gdti: a non-dot first serial character (shifts the reference's uri[30:])
            add("urn:epc:id:%s:%s%s%s" % (scheme, cp_ref(total, cp_len, two_dots), rng.choice("A7%_"), serial(6)))
            add("urn:epc:id:%s:%s%s%%41%s" % (scheme, cp_ref(total, cp_len, two_dots), sep, serial(3)))
    add("urn:epc:id:%s:%s..%s" % (scheme, digits(12), serial(5)),
        "urn:epc:id:%s:%s...%s" % (scheme, digits(12), serial(5)),
        "urn:epc:id:%s:%s.%s" % (scheme, digits(12), serial(5)))

add("urn:epc:id:sgln:0614141.07346.0", "urn:epc:id:sgln:0614141.07346.0\n", "urn:epc:id:sgln:0614141.07346.00",
    "urn:epc:id:sgln:061414112345..0", "urn:epc:id:sgln:061414112345..", "urn:epc:id:sgln:0614141.07346.1234",
    "urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:grai:061414112345...ABC", "urn:epc:id:grai:0614141.12345.400")

# EPC URIs without serial tokens (fixed-length keys) -----------------------------------------------
for scheme, total in [("sscc", 17), ("gsrn", 17), ("gsrnp", 17), ("gsin", 16), ("pgln", 12)]:
    for cp_len in range(5, 14):
        cp = digits(cp_len)
        for rest in {max(total - cp_len, 0), total - cp_len + 1, max(total - cp_len - 1, 0)}:
            add("urn:epc:id:%s:%s.%s" % (scheme, cp, digits(rest)))
        add("urn:epc:id:%s:%s.%s\n" % (scheme, cp, digits(max(total - cp_len, 0))),
            "urn:epc:id:%s:%s.%sX" % (scheme, cp, digits(max(total - cp_len, 0))),
            "urn:epc:id:%s:%s.%s.1" % (scheme, cp, digits(max(total - cp_len, 0))),
            "urn:epc:id:%s:%s.%s\n\n" % (scheme, cp, digits(max(total - cp_len, 0))))
add("urn:epc:id:sscc:0614141.1234567890", "urn:epc:id:pgln:4000001.00012", "urn:epc:id:pgln:400000100012.",
    "urn:epc:id:pgln:400000100012.\n", "urn:epc:id:gsrnp:0614141.1234567890", "urn:epc:id:gsrn:0614141.1234567890")

# giai / ginc: cp '.' tokens{1,30-L} --------------------------------------------------------------
for scheme in ["giai", "ginc"]:
    for cp_len in range(5, 14):
        serial_variants("urn:epc:id:%s:%s." % (scheme, digits(cp_len)), max(30 - cp_len, 1))
add("urn:epc:id:giai:4000001.12345", "urn:epc:id:ginc:0614141.xyz47%2F11")

# cpi -------------------------------------------------------------------------------------------
CPI_SAFE = DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
CPI_ESC = ["%23", "%2F", "%2f", "%2D", "%2d", "%30", "%39", "%41", "%4f", "%5A", "%5a"]
CPI_BAD = ["%24", "%3A", "%40", "%5B", "%2E", "a", "_", "%"]
for prefix, end in [("urn:epc:id:cpi:", None), ("urn:epc:idpat:cpi:", ".*")]:
    for cp_len in range(5, 14):
        cp = digits(cp_len)
        for n in [1, 5, max(30 - cp_len, 1), 31 - cp_len]:
            ref = "".join(rng.choice(CPI_ESC) if rng.random() < 0.25 else rng.choice(CPI_SAFE) for _ in range(n))
            for tail in ([end] if end else ["." + digits(1), "." + digits(12), "." + digits(13), "." + digits(5) + "\n",
                                            "." + digits(3) + "A", ".", ""]):
                add(prefix + cp + "." + ref + tail)
        add(prefix + cp + "." + "AB" + rng.choice(CPI_BAD) + "C" + (end or ".123"))
        add(prefix + cp + "." + (end or ".123"))
    add(prefix + "0614141.123ABC" + (end or ".123456789"), prefix + "0614141.123ABC" + (end or "") + "\n")

# sgcn ------------------------------------------------------------------------------------------
for cp_len in range(5, 14):
    body = cp_ref(12, min(cp_len, 12)) if cp_len <= 12 else digits(13) + "."
    for tail in ["." + digits(1), "." + digits(12), "." + digits(13), ".", "." + digits(4) + "\n", "." + digits(4) + "A"]:
        add("urn:epc:id:sgcn:" + body + tail)
add("urn:epc:id:sgcn:061414112345..12", "urn:epc:id:sgcn:4012345.67890.04711")

# itip ------------------------------------------------------------------------------------------
for cp_len in range(5, 14):
    body = cp_ref(13, min(cp_len, 12))
    for mid in [".01.02.", ".1.02.", ".01.2.", ".012.02.", ".01.02"]:
        add("urn:epc:id:itip:" + body + mid + serial(rng.randint(1, 20)),
            "urn:epc:idpat:itip:" + body + mid + "*")
    add("urn:epc:id:itip:" + body + ".01.02." + serial(21), "urn:epc:id:itip:" + body + ".01.02." + escaped_serial(5),
        "urn:epc:idpat:itip:" + body + ".01.02.*\n", "urn:epc:idpat:itip:" + body + ".01.02.**")
add("urn:epc:id:itip:4012345.012345.01.02.987", "urn:epc:idpat:itip:4012345.012345.01.02.*")

# EPC class lgtin --------------------------------------------------------------------------------
for cp_len in range(5, 14):
    body = cp_ref(13, min(cp_len, 12)) if cp_len <= 12 else digits(13) + "."
    for _ in range(2):
        serial_variants("urn:epc:class:lgtin:" + body + ".", 20)
add("urn:epc:class:lgtin:4023333.002000.998877", "urn:epc:class:lgtin:4012345.012345.Lot987")

# EPC ID patterns ---------------------------------------------------------------------------------
for scheme, total, two_dots in [("sgtin", 13, False), ("grai", 12, True), ("gdti", 12, True), ("sgcn", 12, True),
                                ("upui", 13, False)]:
    for cp_len in range(5, 14):
        if cp_len <= 12:
            body = cp_ref(total, cp_len, two_dots)
        else:
            body = digits(13) + "." + digits(0)
        for tail in [".*", ".*\n", ".**", ".*x", ".", ".1", "*", ".*.*"]:
            add("urn:epc:idpat:%s:%s%s" % (scheme, body, tail))
    add("urn:epc:idpat:%s:%s.%s" % (scheme, digits(12), ".*"), "urn:epc:idpat:%s:%s..%s" % (scheme, digits(12), ".*"))
add("urn:epc:idpat:sgtin:4012345.044444.*", "urn:epc:idpat:sgtin:4012345.*.*", "urn:epc:idpat:sgtin:*.*.*")

# Non-ASCII decimal digits (Python's \d is Unicode) ------------------------------------------------
base = list(inputs)
for value in rng.sample([v for v in base if v.startswith("urn:epc:")], 150):
    chars = list(value)
    positions = [i for i, c in enumerate(chars) if c.isdigit()]
    if positions:
        i = rng.choice(positions)
        chars[i] = rng.choice(NON_ASCII_DIGITS)
        add("".join(chars))
add("urn:epc:id:sgtin:\u0660\u0666\u0661\u0664\u0661\u0664\u0661.107346.2017",
    "urn:epc:id:sscc:\uff10\uff16\uff11\uff14\uff11\uff14\uff11.1234567890")

# GS1 Digital Link URIs -------------------------------------------------------------------------
HOSTS = ["https://id.gs1.org", "http://id.gs1.org", "https://example.com", "http://example.org:8080",
         "https://user@example.com", "https://a.b", "https://idXgs1Yorg", "https://id-gs1-org",
         "https://id.gs1.org/some/path", "https://dl.example.com/a/b/c", "https:", "https:/",
         "http://", "HTTPS://id.gs1.org", "https://id.gs1.org?", "https://e.x#frag", "ftp://id.gs1.org",
         "https://01.example.com", "https://id.gs1.org/01"]
KEYS = {
    "01": [14, 13, 12, 8, 11, 9, 15], "gtin": [14, 13, 12, 8, 10], "00": [18, 17, 19], "sscc": [18],
    "414": [13, 12, 14], "gln": [13], "417": [13], "party": [13], "253": [13, 14, 20, 30, 31], "gdti": [13, 18],
    "255": [13, 25, 26], "gcn": [13, 20], "401": [10, 30, 31], "ginc": [12], "402": [17, 16], "gsin": [17],
    "8003": [14, 20, 30, 31], "grai": [14, 18], "8004": [5, 30, 31], "giai": [7], "8006": [18, 17], "itip": [18],
    "8010": [8, 30, 31], "cpid": [10], "8017": [18], "gsrnp": [18], "8018": [18], "gsrn": [18],
    "21": [14], "10": [14], "99": [14], "abc": [14],
}
QUALS = ["", "/21/ABC123", "/ser/ABC", "/10/LOT1", "/lot/LOT1", "/10/LOT1/21/SER1", "/lot/L/ser/S", "/22/CPV1",
         "/cpv/2A", "/22/CPV/21/SER", "/22/CPV/10/LOT", "/22/CPV/10/LOT/21/SER", "/235/TPX" + digits(5),
         "/254/EXT", "/8011/123", "/8011/1234567890123", "/21/" + serial(20, DIGITS + "abc"), "/21/" + "x" * 21,
         "/21/a%2Fb", "/21/a!b", "/21/\"'-.;<=>?_", "/10/L/21/S/x", "/", "//", "/21/", "/10/", "/22/",
         "/21/ABC\n", "/21/A/22/B", "/7003/2301011200"]
TAILS = ["", "?17=201225", "?linkType=all", "#frag", "?a=b#c", "/", "/?x", "\n", " ", "?", "?\n"]
for key, lengths in KEYS.items():
    for length in lengths:
        for host in HOSTS:
            value = digits(length) if key not in ("8010", "cpid", "401", "ginc", "8004", "giai") \
                else serial(length, DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ-#/")
            add(host + "/" + key + "/" + value)
        for qual in QUALS:
            value = digits(length) if key not in ("8010", "cpid", "401", "ginc", "8004", "giai") \
                else serial(length, DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ-#/.")
            add(rng.choice(HOSTS[:6]) + "/" + key + "/" + value + qual + rng.choice(TAILS))
add("https://id.gs1.org/01/09520123456788/21/12345", "https://example.com/gtin/9520123456788/ser/ABC?x=1",
    "https://id.gs1.org/01/09520123456788/10/ABC/21/XYZ", "https://id.gs1.org/01/09520123456788/22/2A/10/ABC/21/XYZ",
    "https://id.gs1.org/01/09520123456788/22/2A", "https://id.gs1.org/01/09520123456788/22/2A/21/XYZ",
    "https://id.gs1.org/01/12345670/01/2", "https://id.gs1.org/01/123456789012/21/01/", "https://x.y/abcdefghij",
    "https://x.y/abcdefghij\n", "http:/abcdefghij.", "https:/abcde.ghij", "https://a.b/abcdefghijk",
    "https://a.b/gtin/gtin/01/12345678901234", "https://a.b/01/1234/01/09520123456788",
    "https://id.gs1.org/8010/0614141ABC/8011/123", "https://id.gs1.org/8010/ABC/8011/DEF/8011/12",
    "https://id.gs1.org/8010/" + "A" * 30 + "/8011/1", "https://id.gs1.org/8010/" + "A/8011/" * 4 + "1",
    "https://id.gs1.org/414/9520123456788/254/32a%2Fb", "https://id.gs1.org/8006/095201234567880102/22/x/21/1",
    "https://id.gs1.org/8006/095201234567880102/10/L/21/S", "https://id\ngs1.org/01/09520123456788",
    "https://idxgs1xorg/01/9520123456788", "https://a.b/01/1234\n5", "https://a.b/01/12/345678",
    "https://a.b/01/1234/", "https://a.b?/01/12345678901234", "https://a.b#/01/12345678901234",
    "https://a.b/x?y/01/12345678901234", "https://id.gs1.org/01/\u0669\u0665\u0662\u0660123456788",
    "https://id.gs1.org/00/\uff10" + digits(17))

# Plain values ------------------------------------------------------------------------------------
add("", ".", "1.5", "-0.0", "3.14159", "urn:epcglobal:cbv:bizstep:shipping", "https://ref.gs1.org/cbv/BizStep-shipping",
    "urn:epc:id:sgtin", "urn:epc:id:sgtin:", "urn:epc:id:sgtin:.", "urn:epc:.", "urn:epc:id:xyz:0614141.1.2",
    "http.", "https.", "http", "urn:uuid:6f1f2a6c-1d8f-4a1e-9a3b-0a1b2c3d4e5f", "2020-01-01T00:00:00.000Z",
    "urn:epc:id:SGTIN:0614141.107346.2017", "URN:EPC:ID:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2017 ",
    " urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2017\r", "mailto:a@b.c", "www.gs1.org",
    "urn:epc:id:bic:CSQU3054383", "urn:epc:id:imovn:9176187", "urn:epc:id:adi:W81X9C.3KL984PX1.2WMA-52",
    "urn:epc:class:lgtin:", "urn:epc:idpat:", "https://id.gs1.org/", "https://id.gs1.org/01/", "tab\there.x")
for _ in range(150):
    add(rng.choice(["", "urn:epc:", "http", "https://", "urn:epc:id:"]) +
        "".join(rng.choice("abc.:/%01289AZ_-*?#\n ") for _ in range(rng.randint(1, 40))))
for _ in range(60):
    add(str(rng.uniform(-1e6, 1e6)), "%d.%d" % (rng.randint(0, 10**9), rng.randint(0, 999)))

# Mutants of everything above ----------------------------------------------------------------------
MUTATION_CHARS = ".:/%*?#\n0123456789AaZz_-!()+,;='\"<>@ \u00e9\u0663"
seeds = list(inputs)
for _ in range(3000):
    chars = list(rng.choice(seeds))
    for _ in range(rng.randint(1, 2)):
        op = rng.random()
        i = rng.randint(0, len(chars))
        if op < 0.35 and chars:
            chars[min(i, len(chars) - 1)] = rng.choice(MUTATION_CHARS)
        elif op < 0.7:
            chars.insert(i, rng.choice(MUTATION_CHARS))
        elif chars:
            del chars[min(i, len(chars) - 1)]
    add("".join(chars))

# Deduplicate (keeping order), run the reference, write the table -------------------------------------
seen = set()
unique = []
for v in inputs:
    if v not in seen:
        seen.add(v)
        unique.append(v)


def escape(text):
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


with open(sys.argv[1], "w", encoding="utf-8", newline="\n") as out:
    out.write("# input\texpected (empty: None, !raise: the reference raises) -- generated by make_dl_vectors.py\n")
    for v in unique:
        try:
            result = normaliser(v)
            expected = "" if result is None else escape(result)
        except Exception:  # noqa: BLE001 -- the reference raises ValueError from int() in check_digit
            expected = "!raise"
        out.write(escape(v) + "\t" + expected + "\n")
