"""Grammars written directly in the IR, so the engine is tested apart from the frontends."""

from __future__ import annotations

from structgen.ir import Grammar, Rule, Terminal


def T(name: str, pattern: str, literal: str | None = None) -> Terminal:
    return Terminal(name, pattern, literal)


JSON = Grammar(
    terminals={
        "STRING": T("STRING", r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"'),
        "NUMBER": T("NUMBER", r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?"),
        "LB": T("LB", r"\{", "{"), "RB": T("RB", r"\}", "}"),
        "LS": T("LS", r"\[", "["), "RS": T("RS", r"\]", "]"),
        "COMMA": T("COMMA", ",", ","), "COLON": T("COLON", ":", ":"),
        "TRUE": T("TRUE", "true", "true"), "FALSE": T("FALSE", "false", "false"),
        "NULL": T("NULL", "null", "null"),
        "WS": T("WS", r"[ \t\n\r]+"),
    },
    rules=(
        Rule("value", ("object",)), Rule("value", ("array",)),
        Rule("value", ("STRING",)), Rule("value", ("NUMBER",)),
        Rule("value", ("TRUE",)), Rule("value", ("FALSE",)), Rule("value", ("NULL",)),
        Rule("object", ("LB", "RB")), Rule("object", ("LB", "members", "RB")),
        Rule("members", ("pair",)), Rule("members", ("members", "COMMA", "pair")),
        Rule("pair", ("STRING", "COLON", "value")),
        Rule("array", ("LS", "RS")), Rule("array", ("LS", "elements", "RS")),
        Rule("elements", ("value",)), Rule("elements", ("elements", "COMMA", "value")),
    ),
    start="value", ignore=("WS",), source_name="json-ir")

ARITHMETIC = Grammar(
    terminals={
        "NUM": T("NUM", r"0|[1-9]\d*"),
        "PLUS": T("PLUS", r"\+", "+"), "STAR": T("STAR", r"\*", "*"),
        "LP": T("LP", r"\(", "("), "RP": T("RP", r"\)", ")"), "WS": T("WS", r"[ \t]+"),
    },
    rules=(
        Rule("expr", ("expr", "PLUS", "term")), Rule("expr", ("term",)),
        Rule("term", ("term", "STAR", "factor")), Rule("term", ("factor",)),
        Rule("factor", ("NUM",)), Rule("factor", ("LP", "expr", "RP")),
    ),
    start="expr", ignore=("WS",), source_name="arithmetic-ir")

# Ambiguous, with ε-rules and lexer ambiguity (NAME vs the keyword "if", NAME NAME adjacency).
AMBIGUOUS = Grammar(
    terminals={
        "NAME": T("NAME", r"[a-z]+"), "IF": T("IF", "if", "if"), "SEMI": T("SEMI", ";", ";"),
    },
    rules=(
        Rule("start", ("items",)),
        Rule("items", ()), Rule("items", ("items", "item")), Rule("items", ("item", "items")),
        Rule("item", ("NAME",)), Rule("item", ("IF", "NAME", "SEMI")),
        Rule("item", ("NAME", "NAME", "SEMI")),
        Rule("item", ("opt", "SEMI")), Rule("opt", ()), Rule("opt", ("IF",)),
    ),
    start="start", source_name="ambiguous-ir")
