"""The regular expressions the regex benchmark compiles, each with strings it must accept.

Patterns use explicit ASCII classes (``[0-9]``, not ``\\d``) so that every engine reads them
with the same meaning, whatever its default Unicode semantics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from structgen.errors import ConfigurationError

__all__ = ["BenchPattern", "PATTERNS", "QUICK_PATTERNS", "select_patterns"]


@dataclass(frozen=True)
class BenchPattern:
    """A named regex and valid examples of it (each checked against Python's ``re``)."""

    name: str
    description: str
    regex: str
    examples: tuple[str, ...]

    def check(self) -> None:
        compiled = re.compile(self.regex)
        for example in self.examples:
            if compiled.fullmatch(example) is None:
                raise ValueError(f"example {example!r} does not match pattern {self.name!r}")


_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

# 100 country names: a long alternation with shared prefixes ("United …", "South …").
_COUNTRIES = (
    "Afghanistan Albania Algeria Andorra Angola Argentina Armenia Australia Austria Azerbaijan "
    "Bahamas Bahrain Bangladesh Barbados Belarus Belgium Belize Benin Bhutan Bolivia "
    "Botswana Brazil Brunei Bulgaria Burundi Cambodia Cameroon Canada Chad Chile "
    "China Colombia Comoros Croatia Cuba Cyprus Denmark Djibouti Dominica Ecuador "
    "Egypt Eritrea Estonia Eswatini Ethiopia Fiji Finland France Gabon Gambia "
    "Georgia Germany Ghana Greece Grenada Guatemala Guinea Guyana Haiti Honduras "
    "Hungary Iceland India Indonesia Iran Iraq Ireland Israel Italy Jamaica "
    "Japan Jordan Kazakhstan Kenya Kiribati Kuwait Kyrgyzstan Laos Latvia Lebanon "
    "Lesotho Liberia Libya Liechtenstein Lithuania Luxembourg Madagascar Malawi Malaysia Maldives"
).split() + [
    "United States", "United Kingdom", "United Arab Emirates", "South Africa", "South Korea",
    "South Sudan", "New Zealand", "Costa Rica", "Sri Lanka", "Saudi Arabia",
]  # fmt: skip

PATTERNS: dict[str, BenchPattern] = {
    p.name: p
    for p in (
        BenchPattern(
            "email",
            "e-mail address",
            r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*\.[a-zA-Z]{2,}",
            (
                "john.doe@example.com",
                "alice+newsletter@mail.co.uk",
                "x_y-z%42@sub-domain.example.org",
                "support@structgen.dev",
            ),
        ),
        BenchPattern(
            "datetime",
            "ISO 8601 date-time",
            r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
            r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
            r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])",
            (
                "2024-01-02T03:04:05Z",
                "1999-12-31T23:59:59.999+01:00",
                "2025-06-15T12:00:00.123456-07:30",
            ),
        ),
        BenchPattern(
            "ipv4",
            "IPv4 address",
            rf"({_OCTET}\.){{3}}{_OCTET}",
            ("192.168.0.1", "10.0.255.254", "8.8.4.4", "172.16.254.100"),
        ),
        BenchPattern(
            "phone",
            "phone number (international or US format)",
            r"(\+[1-9][0-9]{0,2} )?(\([0-9]{3}\) ?|[0-9]{3}[ .-]?)[0-9]{3}[ .-]?[0-9]{4}",
            ("+1 (555) 123-4567", "555.867.5309", "+44 207 946 0958", "(212)5550123"),
        ),
        BenchPattern(
            "enum100",
            "one of 100 country names",
            "(" + "|".join(_COUNTRIES) + ")",
            ("Germany", "United Arab Emirates", "Liechtenstein", "Sri Lanka", "Chad"),
        ),
        BenchPattern(
            "uuid",
            "UUID (versions 1-5)",
            r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            ("123e4567-e89b-42d3-a456-426614174000", "9b2c1f0e-7d3a-4c8b-9e1f-0a2b3c4d5e6f"),
        ),
        BenchPattern(
            "float",
            "JSON-style number",
            r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?",
            ("3.14159", "-0.5e-10", "6.02214076E23", "42", "-1234567.890"),
        ),
    )
}

QUICK_PATTERNS = ("email", "ipv4")

if len(_COUNTRIES) != 100:  # pragma: no cover - guards the table above
    raise RuntimeError(f"enum100 has {len(_COUNTRIES)} names")


def select_patterns(names: list[str] | None) -> list[BenchPattern]:
    """The patterns named (all when ``names`` is empty), in table order."""
    if not names:
        return list(PATTERNS.values())
    unknown = [n for n in names if n not in PATTERNS]
    if unknown:
        raise ConfigurationError(
            f"unknown pattern(s) {', '.join(unknown)}; expected some of: {', '.join(PATTERNS)}"
        )
    return [PATTERNS[n] for n in names]
