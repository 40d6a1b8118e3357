"""Grammar texts for tests: random small Lark grammars, the IR printed as Lark, keyword-free names.

- :func:`lark_grammars` — a hypothesis strategy of small Lark grammars that lark accepts:
  a few rules with recursion (left, right, mutual), empty alternatives, EBNF operators, inline
  literals and named regex terminals, ambiguity (``r: r r | "a"``), sometimes ``%ignore " "``,
  priorities and case-insensitive literals. Every rule is reachable and productive.
- :func:`grammar_to_lark` — prints any IR grammar as Lark text (an independent way back into
  lark, for round-trip tests of the other frontends).
- :func:`keyword_free_identifier` — the regex of ASCII identifiers other than some keywords, as
  spelled out in the bundled sql_select.lark and python_expr.lark.
"""

from __future__ import annotations

import string

from hypothesis import strategies as st

from structgen.ir import Grammar

__all__ = ["grammar_to_lark", "keyword_free_identifier", "lark_grammars"]

# Literals and regexes chosen so that lark's dynamic_complete lexer agrees with the IR's
# semantics: a regex's leftmost match is its longest (no "a|ab"), none matches a space.
LITERALS = ['"a"', '"b"', '"ab"', '"c"', '"+"', '"("', '")"', '"xyz"', '"é"', '"B"i', '"\\n"']
REGEXES = ["/[a-c]+/", "/x[0-9]*/", "/d?e/", "/[0-9]+(\\.[0-9]+)?/", "/[^ a-z]/", "/(ab)+c?/"]


def lark_grammars(max_rules: int = 4) -> st.SearchStrategy[str]:
    """Small random Lark grammars (start rule ``start``) as text, all of which lark loads."""
    return _grammar_texts(max_rules).filter(_lark_loads)


def _lark_loads(text: str) -> bool:
    import lark

    try:
        lark.Lark(text, parser="earley", lexer="dynamic_complete")
    except lark.exceptions.GrammarError:  # e.g. "Rules defined twice" from colliding optionals
        return False
    return True


@st.composite
def _grammar_texts(draw: st.DrawFn, max_rules: int) -> str:
    count = draw(st.integers(1, max_rules))
    names = ["start"] + [f"r{i}" for i in range(1, count)]
    terminals = draw(st.lists(st.sampled_from(REGEXES), min_size=1, max_size=3, unique=True))
    terminal_names = [f"T{i}" for i in range(len(terminals))]
    priorities = draw(
        st.lists(
            st.sampled_from(["", "", ".2", ".-1"]), min_size=len(terminals), max_size=len(terminals)
        )
    )

    leaf = st.one_of(st.sampled_from(LITERALS), st.sampled_from(terminal_names))

    def item(symbols: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        operator = st.sampled_from(["", "", "", "?", "*", "+", "~2", "~0..2"])
        plain = st.tuples(symbols, operator).map("".join)
        group = st.lists(symbols, min_size=1, max_size=2).map(lambda xs: f"({' '.join(xs)})")
        optional = st.lists(symbols, min_size=1, max_size=2).map(lambda xs: f"[{' '.join(xs)}]")
        alternation = st.lists(symbols, min_size=2, max_size=3).map(
            lambda xs: f"({' | '.join(xs)})"
        )
        return st.one_of(
            plain, plain, group, optional, st.tuples(alternation, operator).map("".join)
        )

    def alternative(extra: list[str]) -> st.SearchStrategy[str]:
        """Items over terminals, with the ``extra`` symbols (plain, unrepeated) placed among them.

        Rules are only ever used plainly: repeating a (nullable, recursive) rule makes grammars
        so ambiguous that lark's test parse takes minutes.
        """
        items = st.lists(item(leaf), min_size=0, max_size=2)
        return st.tuples(items, st.permutations(extra), st.randoms(use_true_random=False)).map(
            lambda parts: _interleave(parts[0], list(parts[1]), parts[2])
        )

    lines = []
    for index, name in enumerate(names):
        # The first alternative keeps every rule productive and reachable: it uses the next
        # rule (or, for the last, terminals only) and no recursive one.
        following = [names[index + 1]] if index + 1 < count else []
        has_next = bool(following)
        first = draw(
            alternative(following).filter(lambda text, has_next=has_next: bool(text) or has_next)
        )
        others = [
            draw(alternative(draw(st.lists(st.sampled_from(names), max_size=1))))
            for _ in range(draw(st.integers(0, 2)))
        ]
        if draw(st.booleans()):
            others.append(f"{name} {draw(leaf)}")  # left recursion
        if draw(st.integers(0, 3)) == 0:
            others.append(f"{name} {name}")  # ambiguity
        modifier = draw(st.sampled_from(["", "", "?", "!"])) if name != "start" else ""
        lines.append(f"{modifier}{name}: " + " | ".join([first, *others]))
    for terminal_name, regex, priority in zip(terminal_names, terminals, priorities, strict=True):
        lines.append(f"{terminal_name}{priority}: {regex}")
    if draw(st.booleans()):
        lines.append('%ignore " "')
    return "\n".join(lines) + "\n"


def _interleave(items: list[str], extra: list[str], rng) -> str:
    for symbol in extra:
        items.insert(rng.randint(0, len(items)), symbol)
    return " ".join(items)


def grammar_to_lark(grammar: Grammar) -> str:
    """The IR as Lark text: rules renamed ``start``/``r<i>``, terminals ``T<i>`` (as regexes)."""
    rule_names = {grammar.start: "start"}
    for rule in grammar.rules:
        rule_names.setdefault(rule.lhs, f"r{len(rule_names)}")
    terminal_names = {name: f"T{index}" for index, name in enumerate(grammar.terminals)}
    symbols = {**rule_names, **terminal_names}
    lines = []
    for lhs, name in rule_names.items():
        alternatives = [
            " ".join(symbols[s] for s in rule.rhs) for rule in grammar.rules if rule.lhs == lhs
        ]
        lines.append(f"{name}: " + " | ".join(alternatives))
    for name, terminal in grammar.terminals.items():
        lines.append(f"{terminal_names[name]}: /{_lark_regex_body(terminal.pattern)}/")
    for name in grammar.ignore:
        lines.append(f"%ignore {terminal_names[name]}")
    return "\n".join(lines) + "\n"


def _lark_regex_body(pattern: str) -> str:
    """``pattern`` written inside lark's ``/.../`` (which evaluates \\x, \\u, \\n escapes first).

    Control characters and '"' are written as \\xHH (harmless: neither means anything to a
    regex), '/' as \\/; other escapes are left for the regex engine.
    """
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            index += 2
            if escaped in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[escaped]
                code_point = int(pattern[index : index + width], 16)
                index += width
                out.append(_regex_char(chr(code_point)))
            elif _needs_hex(escaped) or escaped in '/"':
                out.append(_regex_char(escaped))
            else:
                out.append("\\" + escaped)
            continue
        out.append(_regex_char(char) if (_needs_hex(char) or char in '/"') else char)
        index += 1
    return "".join(out)


def _needs_hex(char: str) -> bool:
    return ord(char) < 0x20 or ord(char) == 0x7F


def _regex_char(char: str) -> str:
    """One literal character, safe both in and out of a character class after lark's unescaping."""
    if _needs_hex(char) or char == '"':
        return f"\\x{ord(char):02x}"
    if char in "\\/^$.|?*+()[]{}-":
        return "\\" + char
    return char


def keyword_free_identifier(keywords: list[str], *, ignore_case: bool = False) -> str:
    """A regex for ``[A-Za-z_][A-Za-z0-9_]*`` minus ``keywords`` (ASCII; ``(?i)`` when ignore_case).

    Walks the keywords' trie: at each node the next character either follows a keyword (and
    recurses) or leaves every keyword (then any word characters may follow); a node is optional
    unless it spells a keyword. Every alternative starts with a different character and ends in a
    greedy ``\\w*``, so the leftmost match is the longest, as lark's lexer needs.
    """
    letters = string.ascii_lowercase if ignore_case else string.ascii_letters
    word = sorted(string.digits + letters + "_")
    first = sorted(letters + "_")
    trie: dict = {}
    for keyword in keywords:
        node = trie
        for char in keyword.lower() if ignore_case else keyword:
            node = node.setdefault(char, {})
        node[""] = {}

    def charclass(chars: list[str]) -> str:
        if chars == word:
            return r"\w"
        parts, i = [], 0
        while i < len(chars):
            j = i
            while j + 1 < len(chars) and ord(chars[j + 1]) == ord(chars[j]) + 1:
                j += 1
            parts.append(
                chars[i]
                if j == i
                else chars[i] + chars[j]
                if j == i + 1
                else f"{chars[i]}-{chars[j]}"
            )
            i = j + 1
        return "[" + "".join(parts) + "]"

    def continuation(node: dict, alphabet: list[str], is_root: bool) -> str:
        children = sorted(k for k in node if k)
        options = [child + continuation(node[child], word, False) for child in children]
        rest = [c for c in alphabet if c not in children]
        if rest:
            options.append(r"\w+" if rest == word and not is_root else charclass(rest) + r"\w*")
        body = options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"
        if is_root or "" in node:
            return body
        return body + "?" if body.startswith("(?:") else f"(?:{body})?"

    regex = continuation(trie, first, True)
    return f"(?i:{regex})" if ignore_case else regex
