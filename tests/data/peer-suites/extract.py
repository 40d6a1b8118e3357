"""Extract the peers' test cases into the JSON files of this folder (see README.md).

Run it again from the repository root with the snapshots of the three repositories (git
directories; the files are read with ``git show COMMIT:PATH``)::

    .venv/bin/python tests/data/peer-suites/extract.py \
        --llama-cpp /path/to/llama.cpp.git --lark /path/to/lark.git --xgrammar /path/to/xgrammar.git

Only data leaves the peers' repositories: grammar text, schemas and test strings. Verdicts:
llama.cpp's GBNF cases keep llama.cpp's labels; every JSON Schema case is labelled by
``jsonschema``; every Lark case by lark's Earley parser (``lexer="dynamic_complete"``);
xgrammar's EBNF cases keep xgrammar's labels (its EBNF is GBNF plus repetition ranges, which
the GBNF spec of llama.cpp defines the same way); xgrammar's schema cases are relabelled by
``jsonschema``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import lark

HERE = Path(__file__).resolve().parent

# The commits the JSON files were extracted from (each the last commit that changed the files).
LLAMA_CPP_COMMITS = {
    "tests/test-grammar-integration.cpp": "990e4d96980d0b016a2b07049cc9031642fb9903",
    "tests/test-json-schema-to-grammar.cpp": "ae65fbdf33b4ccc7a5c8fb4815fe86c1e7b278f5",
    "grammars": "253ba110bcd372207ca7b0bb56f1ea10d60d53fd",
}
LARK_COMMIT = "9bae96161b45a5bf70011c75b1ef41228d3f4caa"
XGRAMMAR_COMMIT = "53da3ff8c0db359ecb6d4b41f154308c82a89aaf"
LLAMA_GRAMMARS = ["arithmetic", "c", "chess", "english", "japanese", "json", "json_arr", "list"]


def git_show(repo: Path, commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:{path}"], check=True, capture_output=True
    ).stdout.decode("utf-8")


def git_ls(repo: Path, commit: str, path: str) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "--name-only", commit, path],
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8")
    return out.split()


# --------------------------------------------------------------------------- C++ literals

_CPP_TOKEN = re.compile(
    r'//[^\n]*|/\*.*?\*/|R"(?P<delim>[^(\s]*)\((?P<raw>.*?)\)(?P=delim)"|"(?P<str>(?:[^"\\\n]|\\.)*)"'
    r"|(?P<ident>[A-Za-z_]\w*)|(?P<num>\d+)|(?P<punct>\S)",
    re.DOTALL,
)
_CPP_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "0": "\0",
    "?": "?",
}


def _unescape_cpp(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "x":
            m = re.match(r"[0-9a-fA-F]+", body[i + 2 :])
            out.append(chr(int(m.group(0), 16)))
            i += 2 + len(m.group(0))
        elif nxt in "uU":
            width = 4 if nxt == "u" else 8
            out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        else:
            out.append(_CPP_ESCAPES[nxt])
            i += 2
    return "".join(out)


def cpp_tokens(source: str) -> list[tuple[str, Any]]:
    """The C++ source as (kind, value) pairs; adjacent string literals are kept apart."""
    tokens: list[tuple[str, Any]] = []
    for m in _CPP_TOKEN.finditer(source):
        if m.group(0).startswith(("//", "/*")):
            continue
        if m.group("raw") is not None:
            tokens.append(("str", m.group("raw")))
        elif m.group("str") is not None:
            tokens.append(("str", _unescape_cpp(m.group("str"))))
        elif m.group("ident"):
            tokens.append(("id", m.group("ident")))
        elif m.group("num"):
            tokens.append(("num", m.group("num")))
        else:
            tokens.append(("p", m.group("punct")))
    return tokens


def _split_args(
    tokens: list[tuple[str, Any]], start: int
) -> tuple[list[list[tuple[str, Any]]], int]:
    """The comma-separated arguments of the bracket opened at ``tokens[start]``."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    depth, args, current, i = 0, [], [], start
    while True:
        kind, value = tokens[i]
        if kind == "p" and value in pairs:
            depth += 1
            if depth > 1:
                current.append(tokens[i])
        elif kind == "p" and value in pairs.values():
            depth -= 1
            if depth == 0:
                if current:
                    args.append(current)
                return args, i
            current.append(tokens[i])
        elif kind == "p" and value == "," and depth == 1:
            args.append(current)
            current = []
        else:
            current.append(tokens[i])
        i += 1


def _string_value(arg: list[tuple[str, Any]]) -> str | None:
    """A concatenation of string literals; None when it holds anything else (``token(10)``)."""
    if all(kind == "str" or (kind == "p" and value == "+") for kind, value in arg):
        return "".join(value for kind, value in arg if kind == "str")
    return None


def _string_list(arg: list[tuple[str, Any]]) -> list[str | None]:
    inner, _ = _split_args(arg, 0)
    return [_string_value(item) for item in inner]


def llama_integration(repo: Path) -> list[dict]:
    path = "tests/test-grammar-integration.cpp"
    tokens = cpp_tokens(git_show(repo, LLAMA_CPP_COMMITS[path], path))
    cases: list[dict] = []
    named: dict[str, str] = {}
    number = 0
    for i, (kind, value) in enumerate(tokens):
        if kind == "id" and tokens[i - 1] == ("id", "string") and tokens[i + 1] == ("p", "="):
            j, parts = i + 2, []
            while tokens[j][0] == "str":
                parts.append(tokens[j][1])
                j += 1
            if parts and tokens[j] == ("p", ";"):
                named[value] = "".join(parts)
        if kind != "id" or tokens[i + 1] != ("p", "("):
            continue
        if value in ("test_grammar", "test_schema"):
            args, _ = _split_args(tokens, i + 1)
            if len(args) != 4 or _string_value(args[0]) is None:
                continue
            desc, text = _string_value(args[0]), _string_value(args[1])
            accept, reject = _string_list(args[2]), _string_list(args[3])
            if text is None:
                continue
            number += 1
            if None in accept or None in reject:
                continue  # strings holding special tokens (token(N)): no text to walk
            note = ""
            if value == "test_grammar":
                cases.append(
                    _case(
                        f"llama.cpp/grammar/{number:02d}", "gbnf", text, accept, reject, desc, note
                    )
                )
            else:
                schema = json.loads(text)
                acc, rej = _judge_schema(schema, accept + reject)
                cases.append(
                    _case(f"llama.cpp/schema/{number:02d}", "schema", schema, acc, rej, desc, note)
                )
        elif value == "test_build_grammar_fails":
            args, _ = _split_args(tokens, i + 1)
            name = args[0][0][1]
            if name in named:
                cases.append(
                    {
                        "id": f"llama.cpp/build-error/{name}",
                        "kind": "gbnf",
                        "grammar": named[name],
                        "accept": [],
                        "reject": [],
                        "expect": "error",
                        "note": "llama.cpp refuses to build this grammar (left recursion)",
                    }
                )
    return cases


def llama_schema_to_grammar(repo: Path) -> list[dict]:
    """The schemas of test-json-schema-to-grammar.cpp (its expected grammars are not kept)."""
    path = "tests/test-json-schema-to-grammar.cpp"
    tokens = cpp_tokens(git_show(repo, LLAMA_CPP_COMMITS[path], path))
    cases = []
    for i, (kind, value) in enumerate(tokens):
        if not (
            kind == "id"
            and value == "test"
            and tokens[i + 1] == ("p", "(")
            and tokens[i + 2] == ("p", "{")
        ):
            continue
        args, _ = _split_args(tokens, i + 2)
        if len(args) < 3 or args[0][-1][1] not in ("SUCCESS", "FAILURE"):
            continue
        status, name, schema_text = args[0][-1][1], _string_value(args[1]), _string_value(args[2])
        try:
            schema = json.loads(schema_text)
        except (TypeError, json.JSONDecodeError):
            continue
        case = _case(
            f"llama.cpp/json-schema/{len(cases) + 1:03d}", "schema", schema, [], [], name, ""
        )
        if status == "FAILURE":
            case["expect"] = "error"
            case["note"] = "llama.cpp's converter refuses this schema"
        cases.append(case)
    return cases


def llama_grammar_files(repo: Path, out: Path) -> list[dict]:
    cases = []
    (out / "llama.cpp-grammars").mkdir(exist_ok=True)
    for name in LLAMA_GRAMMARS:
        text = git_show(repo, LLAMA_CPP_COMMITS["grammars"], f"grammars/{name}.gbnf")
        (out / "llama.cpp-grammars" / f"{name}.gbnf").write_text(text, encoding="utf-8")
        case = _case(
            f"llama.cpp/gbnf-file/{name}", "gbnf", None, [], [], f"grammars/{name}.gbnf", ""
        )
        del case["grammar"]
        case["file"] = f"llama.cpp-grammars/{name}.gbnf"
        cases.append(case)
    return cases


# --------------------------------------------------------------------------- oracles


def schema_validator(schema: Any) -> Any:
    """jsonschema's validator class for ``schema``: its ``$schema``, else draft 2020-12, else
    draft 7 when the schema is only valid there (``items`` as a list: llama.cpp's tuples)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError:
        return jsonschema.Draft7Validator
    return cls


def _judge_schema(schema: Any, strings: list[str]) -> tuple[list[str], list[str]]:
    """Split ``strings`` by jsonschema's verdict on the JSON document each one is."""
    cls = schema_validator(schema)
    validator = cls(
        schema, format_checker=cls.FORMAT_CHECKER
    )  # the draft's formats (FormatChecker() mixes drafts)
    accept, reject = [], []
    for text in dict.fromkeys(strings):
        try:
            valid = validator.is_valid(json.loads(text))
        except (json.JSONDecodeError, RecursionError):
            valid = False
        (accept if valid else reject).append(text)
    return accept, reject


def _lark_parser(text: str) -> lark.Lark:
    return lark.Lark(text, parser="earley", lexer="dynamic_complete", start="start")


def _judge_lark(parser: lark.Lark, strings: list[str]) -> tuple[list[str], list[str]]:
    accept, reject = [], []
    for text in dict.fromkeys(strings):
        try:
            parser.parse(text)
            accept.append(text)
        except lark.exceptions.LarkError:
            reject.append(text)
    return accept, reject


def _case(
    case_id: str, kind: str, source: Any, accept: list, reject: list, title: str, note: str
) -> dict:
    key = "schema" if kind == "schema" else "grammar"
    out = {
        "id": case_id,
        "kind": kind,
        key: source,
        "accept": accept,
        "reject": reject,
        "note": note,
    }
    if (
        kind == "schema"
        and schema_validator(source) is jsonschema.Draft7Validator
        and "$schema" not in source
    ):
        out["draft"] = "7"
    if title:
        out["title"] = title
    return out


# --------------------------------------------------------------------------- lark

PROBES = [
    "",
    "0",
    "7",
    "42",
    "007",
    "-1",
    "+5",
    "1.",
    ".5",
    "1.5",
    "-2.25",
    "1e5",
    "1E-3",
    "+1.5e+10",
    "1e",
    "e5",
    "a",
    "z",
    "A",
    "abc",
    "Hello",
    "hello world",
    "_x1",
    "x_1",
    "1x",
    "__",
    "a1b2",
    " ",
    "  ",
    "\t",
    " \t ",
    "\n",
    "\r\n",
    "\n\n",
    "\r",
    "\f",
    "\n \n",
    '""',
    '"a"',
    '"hello world"',
    '"a\\"b"',
    '"a\\\\"',
    '"\\\\"b"',
    '"\\"',
    '"a',
    'a"',
    '"a\nb"',
    '"x" "y"',
    "# comment",
    "#",
    "// c++",
    "/* c */",
    "/* a */ b */",
    "/**/",
    "-- sql",
    "--",
    "0x1F",
    "ff",
    "9",
    "é",
    "日本",
    "a b",
    "a\tb",
]


def lark_common(repo: Path) -> list[dict]:
    text = git_show(repo, LARK_COMMIT, "lark/grammars/common.lark")
    names = re.findall(r"^([A-Z_][A-Z_0-9]*)\s*:", text, re.MULTILINE)
    cases = []
    variants = {
        "": "%import common.{0}\nstart: {0}\n",
        "+": "%import common.{0}\nstart: {0}+\n",
        "+ws": "%import common.{0}\n%import common.WS\n%ignore WS\nstart: {0}+\n",
    }
    for name in names:
        for suffix, template in variants.items():
            if suffix == "+ws" and name in ("WS", "WS_INLINE", "CR", "LF", "NEWLINE"):
                continue  # a terminal that overlaps the ignored one
            grammar = template.format(name)
            try:
                parser = _lark_parser(grammar)
            except lark.exceptions.GrammarError:
                continue  # lark's own Earley refuses it (_STRING_INNER: a zero-width regexp)
            accept, reject = _judge_lark(parser, PROBES)
            cases.append(
                _case(
                    f"lark/common/{name}{suffix}",
                    "lark",
                    grammar,
                    accept,
                    reject,
                    f"common.{name}",
                    "",
                )
            )
    return cases


def _py_strings(source: str) -> list[str]:
    return [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and 0 < len(node.value) < 2000
    ]


def lark_examples(repo: Path, out: Path) -> list[dict]:
    """The grammars of lark's examples/ (.lark files and grammars inline in .py files) that lark's
    Earley parser builds on their own; strings: the examples' own inputs plus PROBES."""
    files = [p for p in git_ls(repo, LARK_COMMIT, "examples") if p.endswith((".lark", ".py"))]
    by_dir: dict[str, list[str]] = {}
    grammars: list[tuple[str, str]] = []
    for path in files:
        text = git_show(repo, LARK_COMMIT, path)
        folder = path.rsplit("/", 1)[0]
        if path.endswith(".lark"):
            grammars.append((path, text))
            continue
        strings = _py_strings(text)
        for index, s in enumerate(strings):
            if re.search(r"^\s*\??[a-z_]\w*\s*:", s, re.MULTILINE) and "\n" in s:
                grammars.append((f"{path}#{index}", s))
            else:
                by_dir.setdefault(folder, []).append(s)
    (out / "lark-examples").mkdir(exist_ok=True)
    cases = []
    for where, text in grammars:
        if len(text) > 6000 or "%declare" in text:
            # python grammars: they need lark's indenter (a post-lexer), not a grammar alone
            continue
        try:
            parser = _lark_parser(text)
        except Exception:  # noqa: BLE001, S112 - needs a transformer, import paths or lalr: not kept
            continue
        folder = where.split("#")[0].rsplit("/", 1)[0]
        candidates = [s for s in by_dir.get(folder, []) if len(s) < 400] + PROBES
        accept, reject = _judge_lark(parser, candidates)
        reject = reject[:30]
        name = where.replace("/", "_").replace("#", "_").replace(".py", "").replace(".lark", "")
        case = _case(f"lark/examples/{name}", "lark", text, accept, reject, where, "")
        if where.endswith(".lark"):
            del case["grammar"]
            case["file"] = f"lark-examples/{name}.lark"
            (out / case["file"]).write_text(text, encoding="utf-8")
        cases.append(case)
    return cases


# --------------------------------------------------------------------------- xgrammar


def _accept_call(node: ast.Assert) -> tuple[ast.expr, ast.expr, bool] | None:
    """(grammar, string, expected verdict) of ``assert [not] _is_grammar_accept_string(g, s)``."""
    call, negated = node.test, False
    if isinstance(call, ast.UnaryOp) and isinstance(call.op, ast.Not):
        call, negated = call.operand, True
    if (
        isinstance(call, ast.Call)
        and getattr(call.func, "id", "") == "_is_grammar_accept_string"
        and len(call.args) >= 2
    ):
        return call.args[0], call.args[1], not negated
    return None


def _xgr_function_cases(
    func: ast.FunctionDef, tables: dict[str, Any]
) -> list[tuple[str, list[str], list[str]]]:
    """The (grammar, accept, reject) groups of one test function: asserts
    ``[not] _is_grammar_accept_string(g, s)`` whose grammar ``g`` is a literal (directly, through a
    variable, or through ``Grammar.from_ebnf``) and whose string is a literal or a loop variable
    over a literal collection; a parametrised (input, accepted) table goes to the function's one
    grammar."""
    nodes = sorted(
        (n for n in ast.walk(func) if isinstance(n, (ast.Assign, ast.Assert, ast.For))),
        key=lambda n: n.lineno,
    )
    local: dict[str, Any] = {}
    grammar_of: dict[
        str, str
    ] = {}  # variable -> grammar text (a literal, or a Grammar made from one)
    loops: list[tuple[ast.For, list[str]]] = []
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for node in nodes:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name, value = node.targets[0].id, node.value
            if (
                isinstance(value, ast.Call)
                and ast.unparse(value.func).endswith("from_ebnf")
                and value.args
            ):
                source = value.args[0]
                if isinstance(source, ast.Name) and source.id in grammar_of:
                    grammar_of[name] = grammar_of[source.id]
                elif isinstance(source, ast.Constant) and isinstance(source.value, str):
                    grammar_of[name] = source.value
                continue
            try:
                literal = ast.literal_eval(value)
            except ValueError:
                continue
            if isinstance(literal, str) and "::=" in literal:
                grammar_of[name] = literal
            else:
                local[name] = literal
        elif (
            isinstance(node, ast.For)
            and isinstance(node.target, ast.Name)
            and isinstance(node.iter, ast.Name)
        ):
            values = local.get(node.iter.id)
            if isinstance(values, (set, list, tuple)) and all(isinstance(v, str) for v in values):
                loops.append((node, sorted(values)))
        elif isinstance(node, ast.Assert) and (found := _accept_call(node)) is not None:
            grammar_arg, arg, verdict = found
            if isinstance(grammar_arg, ast.Name) and grammar_arg.id in grammar_of:
                grammar = grammar_of[grammar_arg.id]
            elif isinstance(grammar_arg, ast.Constant) and isinstance(grammar_arg.value, str):
                grammar = grammar_arg.value
            else:
                continue
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                strings = [arg.value]
            elif isinstance(arg, ast.Name):
                strings = next(
                    (
                        values
                        for loop, values in reversed(loops)
                        if loop.target.id == arg.id and loop.lineno < node.lineno <= loop.end_lineno
                    ),
                    [],
                )
            else:
                strings = []
            groups.setdefault(grammar, ([], []))[0 if verdict else 1].extend(strings)
    if len(set(grammar_of.values())) == 1 and not groups:
        groups[next(iter(grammar_of.values()))] = ([], [])
    for deco in func.decorator_list:
        if (
            len(groups) == 1
            and isinstance(deco, ast.Call)
            and "parametrize" in ast.unparse(deco.func)
            and len(deco.args) == 2
        ):
            table = deco.args[1]
            rows = tables.get(table.id) if isinstance(table, ast.Name) else None
            if rows and all(
                isinstance(r, tuple) and len(r) == 2 and isinstance(r[1], bool) for r in rows
            ):
                accept, reject = next(iter(groups.values()))
                for text, ok in rows:
                    if isinstance(text, str):
                        (accept if ok else reject).append(text)
    return [
        (grammar, accept, reject)
        for grammar, (accept, reject) in groups.items()
        if accept or reject
    ]


def xgrammar_ebnf(repo: Path) -> list[dict]:
    """Test functions of test_grammar_matcher_ebnf.py / _basic.py with literal EBNF grammars and
    ``_is_grammar_accept_string`` checks on literal strings or literal (input, accepted) tables."""
    cases = []
    for path in (
        "tests/python/test_grammar_matcher_ebnf.py",
        "tests/python/test_grammar_matcher_basic.py",
    ):
        tree = ast.parse(git_show(repo, XGRAMMAR_COMMIT, path))
        tables: dict[str, Any] = {}
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                try:
                    tables[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
        file = path.rsplit("/", 1)[1].removesuffix(".py")
        for func in tree.body:
            if not isinstance(func, ast.FunctionDef) or "root_rule_name" in ast.unparse(func):
                continue
            groups = _xgr_function_cases(func, tables)
            for index, (grammar, accept, reject) in enumerate(groups):
                suffix = f"/{index}" if len(groups) > 1 else ""
                case_id = f"xgrammar/{file}/{func.name}{suffix}"
                cases.append(
                    _case(
                        case_id,
                        "gbnf",
                        grammar,
                        list(dict.fromkeys(accept)),
                        list(dict.fromkeys(reject)),
                        func.name,
                        "",
                    )
                )
    return cases


def xgrammar_schema(repo: Path) -> list[dict]:
    """Parametrised rows of test_json_schema_converter.py with a literal ``schema`` and literal
    instances (parameters named ``*instance*``: a JSON text when a string, else the value, dumped
    as xgrammar's ``check_schema_with_instance`` does); every instance relabelled by jsonschema."""
    tree = ast.parse(git_show(repo, XGRAMMAR_COMMIT, "tests/python/test_json_schema_converter.py"))
    cases = []
    for func in tree.body:
        if not isinstance(func, ast.FunctionDef):
            continue
        for deco in func.decorator_list:
            if not (
                isinstance(deco, ast.Call)
                and "parametrize" in ast.unparse(deco.func)
                and len(deco.args) >= 2
            ):
                continue
            try:
                names = [n.strip() for n in ast.literal_eval(deco.args[0]).split(",")]
                rows = ast.literal_eval(deco.args[1])
            except (ValueError, AttributeError):
                continue
            if "schema" not in names or not any("instance" in n for n in names):
                continue
            for index, row in enumerate(rows):
                values = dict(zip(names, row if isinstance(row, tuple) else (row,)))
                schema = values["schema"]
                if not isinstance(schema, dict):
                    continue
                strings = []
                for name, value in values.items():
                    if "instance" in name:
                        for instance in value if isinstance(value, list) else [value]:
                            strings.append(
                                instance if isinstance(instance, str) else json.dumps(instance)
                            )
                try:
                    schema_validator(schema).check_schema(schema)
                except jsonschema.SchemaError:
                    continue
                accept, reject = _judge_schema(schema, strings)
                cases.append(
                    _case(
                        f"xgrammar/schema/{func.name}/{index}",
                        "schema",
                        schema,
                        accept,
                        reject,
                        func.name,
                        "",
                    )
                )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llama-cpp", type=Path, required=True)
    parser.add_argument("--lark", type=Path, required=True)
    parser.add_argument("--xgrammar", type=Path, required=True)
    args = parser.parse_args()
    outputs = {
        "llama.cpp-grammar-integration.json": llama_integration(args.llama_cpp),
        "llama.cpp-json-schema-to-grammar.json": llama_schema_to_grammar(args.llama_cpp),
        "llama.cpp-grammar-files.json": llama_grammar_files(args.llama_cpp, HERE),
        "lark-common.json": lark_common(args.lark),
        "lark-examples.json": lark_examples(args.lark, HERE),
        "xgrammar-ebnf.json": xgrammar_ebnf(args.xgrammar),
        "xgrammar-schema.json": xgrammar_schema(args.xgrammar),
    }
    for name, cases in outputs.items():
        (HERE / name).write_text(
            json.dumps(cases, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        strings = sum(len(c["accept"]) + len(c["reject"]) for c in cases)
        print(f"{name}: {len(cases)} cases, {strings} strings")
    licences = {
        "LICENSE.llama.cpp": (args.llama_cpp, LLAMA_CPP_COMMITS["grammars"], "LICENSE"),
        "LICENSE.lark": (args.lark, LARK_COMMIT, "LICENSE"),
        "LICENSE.xgrammar": (args.xgrammar, XGRAMMAR_COMMIT, "LICENSE"),
    }
    for name, (repo, commit, path) in licences.items():
        (HERE / name).write_text(git_show(repo, commit, path), encoding="utf-8")


if __name__ == "__main__":
    main()
