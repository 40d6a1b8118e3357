"""``format`` → regular languages of the decoded string (written as Python-syntax regexes).

Exact (the regex is the RFC's grammar): ``date`` (RFC 3339 full-date, with month lengths and
Gregorian leap years), ``duration`` (RFC 3339 appendix A), ``ipv4`` (dotted quad, no leading
zeros), ``ipv6`` (RFC 4291 text forms, ``::`` compression, embedded IPv4; no zone id),
``uuid`` (RFC 4122 layout, any version, either case), ``uri`` and ``uri-reference`` (RFC 3986
ABNF, ASCII only), ``iri`` and ``iri-reference`` (RFC 3987 ABNF: RFC 3986's with ``ucschar``
added to the unreserved characters and ``iprivate`` to the query), ``json-pointer`` (RFC 6901),
``relative-json-pointer``.

Approximations (each a *subset* of the RFC, so what is generated is always valid):

- ``time``/``date-time``: RFC 3339 with case-insensitive ``T``/``Z`` and second fractions;
  a leap second ``:60`` is accepted only at ``23:59:60`` with offset ``Z``/``±00:00`` (the RFC also
  allows it at the same UTC instant under other offsets, which a regex could only list one by one).
- ``hostname``: RFC 1123 labels (letters, digits, inner hyphens, at most 63 characters, no
  ``--`` in positions 3–4 except ``xn--``); the 253-character total is kept by allowing up to 3
  labels of up to 63 characters or 4–6 labels of up to 40. Punycode (``xn--``) content is not
  checked.
- ``email``: RFC 5321 Mailbox: dot-atom or quoted-string local part (ASCII), domain as in
  ``hostname`` or an address literal ``[IPv4]``/``[IPv6:…]``; length limits not enforced beyond
  those of the domain.
- ``uri-template``: RFC 6570 level 4 without the operators it reserves for future use
  (``= , ! @ |``); literals exactly as the RFC lists them (no space, ``"``, ``'``, ``%`` outside
  a percent-encoding, ``<``, ``>``, ``\\``, ``^``, `````, ``{``, ``|``, ``}``).

The validator (:mod:`structgen.validation.format_checks`) accepts a string when it is in this
language, or, for the approximations only, when :func:`beyond_language` says the RFC allows it
all the same (a leap second under a non-zero offset, a hostname of more or longer labels within
253 characters, an email address at such a hostname). So what the engine generates always
validates, and both judge every other string alike.

Unknown formats (``idn-email``, ``idn-hostname``, ``regex``, …) return ``None``: the
caller ignores them with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from structgen.regex.ast import Node
from structgen.regex.parser import parse_regex

__all__ = ["FORMAT_REGEXES", "KNOWN_FORMATS", "beyond_language", "format_node"]

_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = rf"{_DEC_OCTET}(?:\.{_DEC_OCTET}){{3}}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = (
    "(?:"
    + "|".join(
        [
            rf"(?:{_H16}:){{6}}{_LS32}",
            rf"::(?:{_H16}:){{5}}{_LS32}",
            rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
            rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
            rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
            rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
            rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
            rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
            rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
        ]
    )
    + ")"
)

# RFC 3339 full-date with exact month lengths; 29 February only in leap years.
_YEAR = r"[0-9]{4}"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
_DATE = (
    rf"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    rf"|02-(?:0[1-9]|1[0-9]|2[0-8]))|{_LEAP_YEAR}-02-29)"
)
_OFFSET = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
_FRACTION = r"(?:\.[0-9]+)"
_TIME = (
    rf"(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]{_FRACTION}?{_OFFSET}"
    rf"|23:59:60{_FRACTION}?(?:[Zz]|[+-]00:00))"
)

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_QUOTED_LOCAL = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
_LOCAL = rf"(?:{_ATEXT}+(?:\.{_ATEXT}+)*|{_QUOTED_LOCAL})"

# RFC 3986.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_SEGMENT = rf"{_PCHAR}*"
_SEGMENT_NZ = rf"{_PCHAR}+"
_SEGMENT_NZ_NC = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}@]|{_PCT})+"
_QUERY = rf"(?:{_PCHAR}|[/?])*"
_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
_USERINFO = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*"
_IPVFUTURE = rf"[vV][0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+"
_REG_NAME = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*"
_HOST = rf"(?:\[(?:{_IPV6}|{_IPVFUTURE})\]|{_REG_NAME})"
_AUTHORITY = rf"(?:{_USERINFO}@)?{_HOST}(?::[0-9]*)?"
_PATH_ABEMPTY = rf"(?:/{_SEGMENT})*"
_PATH_ABSOLUTE = rf"/(?:{_SEGMENT_NZ}(?:/{_SEGMENT})*)?"
_PATH_ROOTLESS = rf"{_SEGMENT_NZ}(?:/{_SEGMENT})*"
_PATH_NOSCHEME = rf"{_SEGMENT_NZ_NC}(?:/{_SEGMENT})*"
_HIER_PART = rf"(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_ROOTLESS}|)"
_RELATIVE_PART = rf"(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_NOSCHEME}|)"
_URI = rf"{_SCHEME}:{_HIER_PART}(?:\?{_QUERY})?(?:#{_QUERY})?"
_RELATIVE_REF = rf"{_RELATIVE_PART}(?:\?{_QUERY})?(?:#{_QUERY})?"


def _uri_grammar(unreserved: str, private: str) -> tuple[str, str]:
    """(absolute, relative) references of RFC 3986 (``unreserved=_UNRESERVED``, ``private=""``)
    or RFC 3987 (``_IUNRESERVED``, ``_IPRIVATE``): the two grammars differ only there."""
    pchar = rf"(?:[{unreserved}{_SUB_DELIMS}:@]|{_PCT})"
    segment, segment_nz = rf"{pchar}*", rf"{pchar}+"
    segment_nz_nc = rf"(?:[{unreserved}{_SUB_DELIMS}@]|{_PCT})+"
    query = rf"(?:{pchar}|[/?{private}])*"
    fragment = rf"(?:{pchar}|[/?])*"
    userinfo = rf"(?:[{unreserved}{_SUB_DELIMS}:]|{_PCT})*"
    reg_name = rf"(?:[{unreserved}{_SUB_DELIMS}]|{_PCT})*"
    host = rf"(?:\[(?:{_IPV6}|{_IPVFUTURE})\]|{reg_name})"
    authority = rf"(?:{userinfo}@)?{host}(?::[0-9]*)?"
    path_abempty = rf"(?:/{segment})*"
    path_absolute = rf"/(?:{segment_nz}(?:/{segment})*)?"
    path_rootless = rf"{segment_nz}(?:/{segment})*"
    path_noscheme = rf"{segment_nz_nc}(?:/{segment})*"
    hier_part = rf"(?://{authority}{path_abempty}|{path_absolute}|{path_rootless}|)"
    relative_part = rf"(?://{authority}{path_abempty}|{path_absolute}|{path_noscheme}|)"
    tail = rf"(?:\?{query})?(?:#{fragment})?"
    return rf"{_SCHEME}:{hier_part}{tail}", rf"{relative_part}{tail}"


# RFC 3987 section 2.2.
_UCSCHAR = (
    r"\xa0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
    + "".join(rf"\U{plane:04x}0000-\U{plane:04x}fffd" for plane in range(0x1, 0xE))
    + r"\U000e1000-\U000efffd"
)
_IUNRESERVED = _UNRESERVED + _UCSCHAR
_IPRIVATE = r"\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_IRI, _IRELATIVE_REF = _uri_grammar(_IUNRESERVED, _IPRIVATE)

# RFC 6570 section 2 (level 4): literals and {expressions}, without the operators the RFC
# reserves for future use (= , ! @ |), which validators reject. Literals are section 2.1's
# %x21 / %x23-24 / %x26 / %x28-3B / %x3D / %x3F-5B / %x5D / %x5F / %x61-7A / %x7E / ucschar /
# iprivate / pct-encoded: no apostrophe (%x27).
_TEMPLATE_LITERAL = (
    r"(?:[\x21\x23\x24\x26\x28-\x3b\x3d\x3f-\x5b\x5d\x5f\x61-\x7a\x7e"
    rf"{_UCSCHAR}{_IPRIVATE}]|{_PCT})"
)
_VARCHAR = rf"(?:[A-Za-z0-9_]|{_PCT})"
_VARSPEC = rf"{_VARCHAR}(?:\.?{_VARCHAR})*(?::[1-9][0-9]{{0,3}}|\*)?"
_URI_TEMPLATE = rf"(?:{_TEMPLATE_LITERAL}|\{{[+#./;?&]?{_VARSPEC}(?:,{_VARSPEC})*\}})*"

_JSON_POINTER = r"(?:/(?:[^~/]|~[01])*)*"

_DURATION_TIME = r"T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)"
_DURATION_DATE = r"(?:[0-9]+D|[0-9]+M(?:[0-9]+D)?|[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?)"

FORMAT_REGEXES: dict[str, str] = {
    "date": _DATE,
    "time": _TIME,
    "date-time": rf"{_DATE}[Tt]{_TIME}",
    "duration": rf"P(?:{_DURATION_DATE}(?:{_DURATION_TIME})?|{_DURATION_TIME}|[0-9]+W)",
    "ipv4": _IPV4,
    "ipv6": _IPV6,
    "uuid": r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
    "uri": _URI,
    "uri-reference": rf"(?:{_URI}|{_RELATIVE_REF})",
    "iri": _IRI,
    "iri-reference": rf"(?:{_IRI}|{_IRELATIVE_REF})",
    "uri-template": _URI_TEMPLATE,
    "json-pointer": _JSON_POINTER,
    "relative-json-pointer": rf"(?:0|[1-9][0-9]*)(?:#|{_JSON_POINTER})",
}
KNOWN_FORMATS = frozenset(FORMAT_REGEXES) | {"hostname", "email"}


@cache
def format_node(name: str) -> Node | None:
    """The decoded-string language of format ``name``, or ``None`` for a format we do not know."""
    if name in FORMAT_REGEXES:
        return parse_regex(FORMAT_REGEXES[name])
    if name == "hostname":
        return _hostname()
    if name == "email":
        from structgen.regex.nodes import alt, concat, literal

        domain = alt(
            _hostname(),
            concat(literal("["), parse_regex(_IPV4), literal("]")),
            concat(literal("[IPv6:"), parse_regex(_IPV6), literal("]")),
        )
        return concat(parse_regex(_LOCAL), literal("@"), domain)
    return None


def _label_regex(max_length: int) -> str:
    """An RFC 1123 label of at most ``max_length`` characters that is not reserved: ``ab--…`` is,
    unless it is an A-label ``xn--…``."""
    a, d = "[A-Za-z0-9]", "[A-Za-z0-9-]"
    rest = max_length - 5
    return (
        rf"{a}|{a}{a}|{a}{d}{a}|{a}{d}(?:{a}{a}|-{a})|{a}{d}(?:{a}{d}|-{a}){d}{{0,{rest}}}{a}"
        rf"|[xX][nN]--{d}{{0,{rest}}}{a}"
    )


def _label(max_length: int) -> Node:
    return parse_regex(_label_regex(max_length))


def _hostname() -> Node:
    """Up to 3 labels of ≤ 63 characters, or 4–6 labels of ≤ 40: always within 253 in total."""
    from structgen.regex.nodes import alt, char, concat, repeat

    long_label, short_label = _label(63), _label(40)
    dot = char(".")
    return alt(
        concat(long_label, repeat(concat(dot, long_label), 0, 2)),
        concat(short_label, repeat(concat(dot, short_label), 3, 5)),
    )


# -- what the RFCs allow beyond the approximations above (the validator's side) -----------------
_LEAP_TIME = re.compile(
    r"([01][0-9]|2[0-3]):([0-5][0-9]):60(?:\.[0-9]+)?(?:[Zz]|([+-])([01][0-9]|2[0-3]):([0-5][0-9]))"
)
_DATE_THEN_TIME = re.compile(rf"{_DATE}[Tt](.*)", re.DOTALL)
_LABEL = re.compile(_label_regex(63))
_MAILBOX = re.compile(rf"{_LOCAL}@(.*)", re.DOTALL)


def _is_leap_second(text: str) -> bool:
    """RFC 3339 section 5.7: second 60 is the leap second, at 23:59:60 UTC, whatever the offset
    (``15:59:60-08:00`` is one; ``22:59:60Z`` is not)."""
    match = _LEAP_TIME.fullmatch(text)
    if match is None:
        return False
    hour, minute, sign, offset_hour, offset_minute = match.groups()
    local = int(hour) * 60 + int(minute)
    offset = 0 if sign is None else int(offset_hour) * 60 + int(offset_minute)
    utc = (local - offset if sign in (None, "+") else local + offset) % (24 * 60)
    return utc == 23 * 60 + 59


def _is_date_time_leap_second(text: str) -> bool:
    match = _DATE_THEN_TIME.fullmatch(text)
    return match is not None and _is_leap_second(match.group(1))


def _is_hostname(text: str) -> bool:
    """RFC 1123 host names: labels as in ``_label_regex(63)``, at most 253 characters."""
    return 0 < len(text) <= 253 and all(_LABEL.fullmatch(label) for label in text.split("."))


def _is_mailbox_at_hostname(text: str) -> bool:
    match = _MAILBOX.fullmatch(text)
    return match is not None and _is_hostname(match.group(1))


_BEYOND: dict[str, Callable[[str], bool]] = {
    "time": _is_leap_second,
    "date-time": _is_date_time_leap_second,
    "hostname": _is_hostname,
    "email": _is_mailbox_at_hostname,
}


def beyond_language(name: str) -> Callable[[str], bool] | None:
    """For a format whose language above is a subset of its RFC: the test of the strings the RFC
    allows outside it (``None`` for the exact formats)."""
    return _BEYOND.get(name)
