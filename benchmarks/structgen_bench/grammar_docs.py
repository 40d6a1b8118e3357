"""The documents the grammar benchmark walks through each grammar.

- ``json``: real JSON documents from the JSONSchemaBench data (``--data DIR``, the layout of
  ``shared/data``): the valid test instances of ``maskbench-tests/<subset>.jsonl`` and the
  schema files ``jsonschemabench/<subset>/<name>.json`` themselves, each serialised with
  ``json.dumps(value, ensure_ascii=False)`` (default separators ``", "`` and ``": "``;
  non-ASCII text stays UTF-8, as a model would write it). :func:`json_documents` draws a
  deterministic sample, half instances and half schemas, round-robin over the subsets.
- the other bundled grammars: the hand-written corpus below, realistic documents of the kind
  a model is asked for. :func:`check_corpus` parses every one with lark's Earley parser
  (``lexer="dynamic_complete"``, ASCII classes: the IR's definition of the language) when the
  benchmark starts, so the corpus cannot drift from the grammars; ``python_expr`` documents
  must also compile with Python's own ``compile(text, "<doc>", "eval")``.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

import lark

import structgen
from structgen.errors import ConfigurationError
from structgen.grammar.bundled import path_of

__all__ = [
    "CORPUS",
    "BenchDocument",
    "check_corpus",
    "corpus_documents",
    "json_documents",
    "DEFAULT_DATA_DIR",
    "default_data_dir",
]

DEFAULT_DATA_DIR = Path("/work/shared/data")


def default_data_dir() -> Path:
    """The JSONSchemaBench data: ``$STRUCTGEN_BENCH_DATA``, else ``shared/data`` beside the
    repository, else :data:`DEFAULT_DATA_DIR`."""
    explicit = os.environ.get("STRUCTGEN_BENCH_DATA")
    if explicit:
        return Path(explicit)
    beside = Path(structgen.__file__).resolve().parent.parent.parent / "shared" / "data"
    return beside if beside.is_dir() else DEFAULT_DATA_DIR


@dataclass(frozen=True)
class BenchDocument:
    """One valid document of a grammar and where it comes from."""

    text: str
    source: str


# fmt: off
CORPUS: dict[str, tuple[str, ...]] = {
    "arithmetic": (
        "1 + 2",
        "-(1.5 + 2) * 3 / -4 - 10",
        "(3.25 + 4.75) * 2 - 7 / (1 + 1)",
        "100 * (1 + 0.05) * (1 + 0.05) * (1 + 0.05)",
        "((12 - 4) / 2 + 3) * (8 - (6 - 2))",
        "2 * 3.14159 * 6371",
        "--1 - -2",
        "(0.2 + 0.1) * 10",
        "1250 / 12 + 1250 * 0.0425 / 12",
        "((((1 + 2) * 3 - 4) / 5 + 6) * 7 - 8) / 9",
        "(9.81 * 2.5 * 2.5) / 2 + 12.5 * 2.5",
        "72 - (32 * 5 / 9)",
        "(1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10) / 10",
        "-(-(-(7)))",
        "(45.5 * 3 + 12.25 * 4) / (3 + 4) - 0.5 * (2.75 - 1.25)",
        "1024*1024*8/1000000",
        "(1 - 0.15) * (19.99 + 4.50 + 12.00) + 5.99",
        "(18.5 + 0) * 2",
    ),
    "sql_select": (
        "SELECT * FROM users",
        "SELECT id, name, email FROM customers WHERE active = 1",
        "SELECT name, price FROM products WHERE price >= 10 AND price < 100 ORDER BY price DESC",
        "SELECT o.id, o.total FROM orders WHERE o.status = 'shipped' ORDER BY o.total DESC LIMIT "
        "20;",
        "select title, year from movies where (year >= 1990 and year <= 1999) or rating > 8.5 "
        "order by rating desc, title asc limit 10;",
        "SELECT employee_id, last_name FROM employees WHERE NOT department = 'Sales' AND salary "
        "<> 0",
        "SELECT city FROM addresses WHERE country = 'O''Higgins' OR country = 'Chile'",
        "SELECT sku, qty FROM inventory WHERE qty < -1.5 OR qty > 1000 LIMIT 5",
        "SELECT *\nFROM events\nWHERE event_type = 'click'\n  AND user_id != 42\nORDER BY "
        "created_at DESC\n"
        "LIMIT 100;",
        "SELECT a.x, b.y FROM t1 WHERE a.x = b.y",
        "SELECT first_name, last_name, hire_date FROM staff WHERE (dept = 'R&D' OR dept = 'QA') "
        "AND NOT (hire_date < '2020-01-01') ORDER BY hire_date, last_name",
        "SELECT id FROM sessions WHERE expires_at <= '2025-06-30T00:00:00Z' ORDER BY id ASC LIMIT "
        "500",
        "SELECT author, title, pages FROM books WHERE pages > 300 AND (genre = 'fantasy' OR genre "
        "= "
        "'science fiction') AND NOT author = 'Anonymous' ORDER BY pages DESC, title LIMIT 25;",
        "SELECT product_name, unit_price FROM Products WHERE Discontinued = 0 ORDER BY unit_price "
        "DESC",
        "SELECT patient_id, bmi FROM visits WHERE bmi >= 30.0 OR (bmi >= 27.5 AND diabetic = "
        "'yes')",
    ),
    "csv": (
        "name,age,city\nAlice,30,Paris\nBob,25,Berlin\n",
        "id,product,price,in_stock\n1,Widget,9.99,true\n2,Gadget,24.50,false\n3,\"Thing, "
        "large\",99.00,true\n",
        "date,open,high,low,close,volume\n2024-01-02,187.15,188.44,183.89,185.64,82488700\n"
        "2024-01-03,184.22,185.88,183.43,184.25,58414500\n"
        "2024-01-04,182.15,183.09,180.88,181.91,71983600\n"
        "2024-01-05,181.99,182.76,180.17,181.18,62303300\n",
        "name,comment\nAda,\"said \"\"hi\"\", then left\"\nGrace,\"multi\nline\"\n",
        "country,capital,population\r\nFrance,Paris,68042591\r\nJapan,Tokyo,124516650\r\n"
        "Brazil,Brasília,203080756\r\n",
        "user,email,signup\njdoe,jdoe@example.com,2023-11-05\nasmith,,2024-02-17\n,,\n",
        "sku,description,qty\nA-100,\"Screws, M4 x 20mm (pack of 100)\",12\nB-220,Washer 4mm,250\n"
        "C-310,\"Bracket \"\"L\"\" shape\",8\n",
        "city,temp_c,conditions\nReykjavík,-3,snow\nSão Paulo,27,sunny\nZürich,4,\"cloudy, "
        "windy\"\n"
        "Москва,-8,snow\n東京,12,rain\n",
        "a\n",
        "timestamp,level,message\n2025-03-01T12:00:01Z,INFO,server started\n"
        "2025-03-01T12:00:05Z,WARN,\"disk usage at 85%, consider cleanup\"\n"
        "2025-03-01T12:01:17Z,ERROR,\"failed to connect: timeout after 30s\"\n",
        "x,y\n0,0\n1,1\n2,4\n3,9\n4,16\n5,25\n6,36\n7,49\n8,64\n9,81\n10,100\n",
        "title,author,year,isbn\n\"The Hitchhiker's Guide to the Galaxy\",Douglas "
        "Adams,1979,978-0345391803\n"
        "Dune,Frank Herbert,1965,978-0441172719\n\"Neuromancer\",William "
        "Gibson,1984,978-0441569595\n",
        "first,last,notes\nMarie,Curie,\"Nobel Prize in Physics (1903), Chemistry (1911)\"\n"
        "Alan,Turing,\n",
        "k,v\nempty,\"\"\nspaces,   padded   \nquote,\"\"\"\"\n",
    ),
    "python_expr": (
        "x + 1",
        "f(x, [1, 2.5e-3])[0].y ** -2 if not a in b else lambda n: n % 7",
        "len(items) > 0 and items[0] is not None",
        "sorted(data, key)[:10]",
        "{'name': user.name, 'age': user.age, 'tags': sorted(tags)}",
        "math.sqrt(dx ** 2 + dy ** 2)",
        "(a, b, c)",
        "config.get('timeout', 30) * 1000",
        "lambda row: row['price'] * row['qty']",
        "value if isinstance(value, str) else str(value)",
        "x[1:-1:2]",
        "not (a or b) and c",
        "'Hello, ' + name + '!'",
        "0 <= index < len(buffer)",
        "numpy.mean(scores[mask], 0) - baseline.mean()",
        "{1: 'one', 2: 'two', 3: \"three\"}",
        "~flags & 255 | mode << 4",
        "(total - discount) / max(count, 1)",
        "matrix[i][j] @ vector",
        "os.path.join(root, 'data', \"train.csv\")",
    ),
}
# fmt: on


def check_corpus(names: list[str] | None = None) -> None:
    """Parse every corpus document with lark (``dynamic_complete``, ASCII classes).

    Raises :class:`~structgen.errors.ConfigurationError` naming the document that fails.
    """
    for name in names or list(CORPUS):
        path = path_of(name)
        if path is None or path.suffix != ".lark":
            raise ConfigurationError(f"no bundled .lark grammar {name!r} for the corpus")
        parser = lark.Lark(
            path.read_text(encoding="utf-8"),
            parser="earley",
            lexer="dynamic_complete",
            g_regex_flags=re.ASCII,
        )
        for index, text in enumerate(CORPUS[name]):
            try:
                parser.parse(text)
            except lark.exceptions.LarkError as error:
                raise ConfigurationError(
                    f"corpus document {name}[{index}] {text!r} is not in the grammar: "
                    f"{str(error).splitlines()[0]}"
                ) from None
            if name == "python_expr":
                try:
                    compile(text, "<doc>", "eval")
                except SyntaxError as error:
                    raise ConfigurationError(
                        f"corpus document python_expr[{index}] {text!r} is not a Python "
                        f"expression: {error}"
                    ) from None


def corpus_documents(name: str) -> list[BenchDocument]:
    """The hand-written documents of grammar ``name``."""
    return [BenchDocument(text, f"corpus:{name}[{i}]") for i, text in enumerate(CORPUS[name])]


def json_documents(
    data_dir: Path, sample: int, *, seed: int = 0, max_bytes: int = 8192
) -> tuple[list[BenchDocument], dict[str, int]]:
    """A deterministic sample of ``sample`` JSON documents from the JSONSchemaBench data.

    Half are valid test instances, half schema files (when one kind runs out, the other fills
    in), drawn round-robin over the subsets in shuffled order; documents longer than
    ``max_bytes`` (UTF-8) are skipped. Returns the documents and how many came from each kind.
    """
    tests_dir = data_dir / "maskbench-tests"
    schemas_dir = data_dir / "jsonschemabench"
    if not tests_dir.is_dir() and not schemas_dir.is_dir():
        raise ConfigurationError(
            f"--data {str(data_dir)!r} has neither maskbench-tests/ nor jsonschemabench/ "
            "(the layout of the JSONSchemaBench data in shared/data)"
        )
    rng = random.Random(seed)
    instances: list[list[BenchDocument]] = []
    for path in sorted(tests_dir.glob("*.jsonl")) if tests_dir.is_dir() else []:
        found: list[BenchDocument] = []
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                for number, test in enumerate(record.get("tests", ())):
                    if test.get("valid") is True:
                        text = json.dumps(test["data"], ensure_ascii=False)
                        where = f"{path.stem}/{record['file']}#test{number}"
                        found.append(BenchDocument(text, where))
        rng.shuffle(found)
        instances.append(found)
    schemas: list[list[Path]] = []
    for folder in sorted(schemas_dir.iterdir()) if schemas_dir.is_dir() else []:
        if folder.is_dir():
            files = sorted(folder.glob("*.json"))
            rng.shuffle(files)
            schemas.append(files)

    def instance_stream():
        for group in _round_robin(instances):
            yield group

    def schema_stream():
        for path in _round_robin(schemas):
            if path.stat().st_size > 4 * max_bytes:  # cannot shrink below the cap
                continue
            try:
                value = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            yield BenchDocument(
                json.dumps(value, ensure_ascii=False), f"{path.parent.name}/{path.name}"
            )

    streams = {"instance": instance_stream(), "schema": schema_stream()}
    counts = {"instance": 0, "schema": 0}
    documents: list[BenchDocument] = []
    seen: set[str] = set()
    order = ["instance", "schema"]
    while len(documents) < sample and order:
        for kind in list(order):
            if len(documents) >= sample:
                break
            for document in streams[kind]:
                if len(document.text.encode("utf-8")) <= max_bytes and document.text not in seen:
                    seen.add(document.text)
                    documents.append(document)
                    counts[kind] += 1
                    break
            else:
                order.remove(kind)
    return documents, counts


def _round_robin(groups: list[list]):
    position = 0
    while True:
        progressed = False
        for group in groups:
            if position < len(group):
                progressed = True
                yield group[position]
        if not progressed:
            return
        position += 1
