"""``format`` regexes against RFC examples (valid and invalid), decoded-string level."""

from __future__ import annotations

import pytest

from structgen.regex import compile_byte_dfa
from structgen.validation.formats import KNOWN_FORMATS, format_node

EXAMPLES = {
    "date": (["2024-02-29", "2000-02-29", "1999-12-31", "0001-01-01", "2023-04-30", "0000-01-01"],
             ["2023-02-29", "1900-02-29", "2024-04-31", "2024-13-01", "2024-1-01", "24-01-01",
              "2024-01-01T00"]),
    "time": (["08:30:06Z", "23:59:60Z", "23:59:60+00:00", "08:30:06.283185z", "12:34:56-00:00",
              "00:00:00+23:59"],
             ["24:00:00Z", "12:60:00Z", "12:00:61Z", "12:00:00", "22:59:60Z", "12:00:00+24:00",
              "8:30:06Z", "12:00:00 Z"]),
    "date-time": (["1963-06-19T08:30:06.283185Z", "1963-06-19t08:30:06z", "1998-12-31T23:59:60Z"],
                  ["1963-06-19 08:30:06Z", "1990-02-31T15:59:59Z", "1963-06-19T08:30:06",
                   "2013-350T01:01:01"]),
    "duration": (["P4DT12H30M5S", "P1W", "PT0S", "P1Y2M", "PT36H", "P01D"],
                 ["P", "PT", "P1YT", "P2D1Y", "P1Y2W", "PT0.5S", "P1D2H", "-P1D"]),
    "email": (["joe.bloggs@example.com", "te~st@example.com", '"joe bloggs"@example.com',
               "a@[127.0.0.1]", "a@[IPv6:::1]", "x+y@sub-domain.example.co"],
              ["2962", ".test@example.com", "test.@example.com", "te..st@example.com", "a@b=c.com",
               "@example.com", "joe@", "joe bloggs@example.com", "a@[127.0.0.300]"]),
    "hostname": (["www.example.com", "a", "1host", "host-name", "xn--9n2bp8q.xn--9t4b11yi5a",
                  "a--b.com", "a" * 63 + ".com"],
                 ["", ".", "-host", "host-", "host_name", "a" * 64 + ".com", "ab--cd.com",
                  "example.", "a.b.c.d.e.f.g"]),
    "ipv4": (["127.0.0.1", "0.0.0.0", "255.255.255.255"],
             ["256.0.0.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "a.b.c.d"]),
    "ipv6": (["::1", "::", "1:2:3:4:5:6:7:8", "1::d6:192.168.0.1", "::ffff:192.168.0.1", "fe80::a"],
             ["12345::", "1::d6::42", "1:2:3:4:5:6:7", ":2:3:4:5:6:7:8", "fe80::a%eth1",
              "::ffff:192.168.0.01"]),
    "uuid": (["2eb8aa08-aa98-11ea-b4aa-73b441d16380", "2EB8AA08-AA98-11EA-B4AA-73B441D16380"],
             ["2eb8aa08aa9811eab4aa73b441d16380", "2eb8aa08-aa98-11ea-b4aa-73b441d1638",
              "zeb8aa08-aa98-11ea-b4aa-73b441d16380"]),
    "uri": (["http://foo.bar/?baz=qux#quux", "mailto:John.Doe@example.com", "urn:oasis:names:tc",
             "ldap://[2001:db8::7]/c=GB", "http://-.~_!$&'()*+,;=:%40:80%2f::::::@example.com"],
            ["//foo.bar", "/abc", "abc", "http:// shouldfail.com", "bar,baz:foo", "http://example.com/%6G",
             "https://example.org/foobar®.txt", "http://example.com:abc/"]),
    "uri-reference": (["http://foo.bar/?baz=qux#quux", "//foo.bar", "/abc", "abc", "#fragment", "",
                       "?q=1", "./this:that"],
                      ["\\\\WINDOWS\\fileshare", "#frag\\ment", "1:b", "/a\"b", "/%zz"]),
    "iri": (["http://例え.jp/パス?q=ü", "http://ƒøø.ßår/?∂éœ=πîx#πîüx", "urn:ex:\U0001f600",
             "a:b?\ue000", "http://[::1]/é"],
            ["http://exa mple.com", "//例え.jp", "/パス", "a:b#\ue000", "http://例/%zz",
             "http://例/\u00ad\ufffe", "ex:a<b"]),
    "iri-reference": (["http://例え.jp/パス?q=ü", "//例え.jp", "/パス", "パス", "#ƒrägmênt", "",
                       "?q=\ue000"],
                      ["http://exa mple.com", "#\ue000", "\\\\WINDOWS\\fïleshare", "1:b", "/a b"]),
    "uri-template": (["http://example.com/{id}", "/a/{+path}/x{?q,lang}", "{var:3}", "{list*}",
                      "{a.b}", "%41{x}", "http://ex.com/ü{x}", ""],
                     ["http://example.com/resource/{", "{}", "{a b}", "x}", "{a:0}", "{a:10000}",
                      "{@x}", "a b", "'", "a'b"]),
    "json-pointer": (["", "/foo/0", "/a~1b", "/m~0n", "/"], ["foo", "/~2", "/~"]),
    "relative-json-pointer": (["0", "1/a", "0#", "12/x~1y"], ["-1", "01", "/a", "0##"]),
}  # fmt: skip


def test_every_known_format_has_examples():
    assert set(EXAMPLES) == KNOWN_FORMATS


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_format_examples(name):
    valid, invalid = EXAMPLES[name]
    dfa = compile_byte_dfa(format_node(name))
    for text in valid:
        assert dfa.fullmatch(text.encode()), f"{name}: {text!r} should match"
    for text in invalid:
        assert not dfa.fullmatch(text.encode()), f"{name}: {text!r} should not match"


def test_unknown_formats_have_no_language():
    assert format_node("int32") is None and format_node("idn-email") is None


def test_iri_grammar_is_the_uri_grammar_with_wider_characters():
    from structgen.validation import formats

    assert formats._uri_grammar(formats._UNRESERVED, "") == (formats._URI, formats._RELATIVE_REF)
