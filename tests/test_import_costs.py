"""What a fresh process imports on the start path (issue 11): a cache hit loads neither the
schema compiler nor jsonschema, and compiling a plain schema does not load jsonschema's format
packages. Each check runs in a new interpreter, since this one has imported everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import structgen
import structgen.schema
from structgen.errors import SerializationError

REPO = Path(__file__).resolve().parent.parent
VOCAB = (
    "from structgen.vocab import Vocabulary\n"
    "tokens = [bytes([b]) for b in range(256)] + [b'name', b'age', b'{\"', b'\":', b'']\n"
    "vocab = Vocabulary(tokens, eos_ids=[len(tokens) - 1], special_ids=[len(tokens) - 1])\n"
)
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name"],
}
# Modules a cache hit, or a plain schema's compile, has no use for.
SCHEMA_COMPILER = "structgen.schema.compiler"
JSONSCHEMA = ("jsonschema", "rfc3986_validator", "isoduration", "webcolors", "uri_template")
# Modules a plain schema's compile has no use for: $ref resolution, the user cache directory
# (the tests set $STRUCTGEN_CACHE_DIR), numpy's masked arrays.
REFERENCING = ("referencing", "jsonschema_specifications", "attrs", "platformdirs")


def _loaded(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The top modules of interest that ``code`` (run in a new process) leaves imported."""
    probe = (
        "\nimport sys, json\n"
        f"names = {[SCHEMA_COMPILER, *JSONSCHEMA, *REFERENCING, 'numba', 'numpy.ma']!r}\n"
        "print(json.dumps([n for n in names if n in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code + probe],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        env=env,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_compiler_loads_no_schema_compiler_and_no_validator() -> None:
    assert _loaded("import structgen.runtime.compiler") == []


def test_importing_the_schema_package_loads_no_schema_compiler() -> None:
    assert _loaded("import structgen.schema, structgen.schema.loading") == []


def test_a_cached_schema_compile_loads_neither_the_schema_compiler_nor_jsonschema(
    tmp_path: Path,
) -> None:
    compile_it = (
        VOCAB + "import structgen\n"
        f"c = structgen.compile_json_schema({SCHEMA!r}, vocab, cache_dir={str(tmp_path)!r})\n"
        "c.matcher().fill_next_token_bitmask(structgen.allocate_token_bitmask(1, len(tokens)))\n"
        "print(c.from_cache)\n"
    )
    first = _loaded(compile_it)
    assert SCHEMA_COMPILER in first  # a miss compiles
    assert _loaded(compile_it) == []  # a hit only reads the entry


def test_checking_a_plain_schema_loads_no_reference_resolver(tmp_path: Path) -> None:
    """No ``$ref`` but local JSON pointers, and patterns that compile: the schema check needs
    no ``referencing``; with an anchor ``$ref`` it resolves it as before. With
    ``$STRUCTGEN_CACHE_DIR`` set, a compile never asks platformdirs for the user cache
    directory."""
    check = "from structgen.validation.schema_check import check_schema\n"
    with_ref = {"$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}
    anchored = {"$defs": {"n": {"$anchor": "n"}}, "properties": {"a": {"$ref": "#n"}}}
    for plain in (SCHEMA, with_ref):
        loaded = _loaded(check + f"assert check_schema({plain!r}) == []\n")
        assert set(loaded) & set(REFERENCING) == set()
    assert "referencing" in _loaded(check + f"assert check_schema({anchored!r}) == []\n")
    compile_it = (
        VOCAB + "import structgen\n"
        f"c = structgen.compile_json_schema({SCHEMA!r}, vocab)\n"
        "c.matcher().fill_next_token_bitmask(structgen.allocate_token_bitmask(1, len(tokens)))\n"
    )
    env = {**os.environ, "STRUCTGEN_CACHE_DIR": str(tmp_path)}
    assert "platformdirs" not in _loaded(compile_it, env)


def test_compiling_a_schema_without_references_loads_no_resolver(tmp_path: Path) -> None:
    """No ``$ref`` or ``$id`` anywhere: no ``referencing`` registry is built (40-50 ms of a
    fresh process), nor numpy's masked arrays (10 ms, loaded by a plain ``np.unique``); a
    schema with a ``$ref`` resolves it through ``referencing`` as before."""
    with_ref = {"$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}
    env = {**os.environ, "STRUCTGEN_CACHE_DIR": str(tmp_path)}
    for schema, resolver in ((SCHEMA, False), (with_ref, True)):
        compile_it = (
            VOCAB + "import structgen\n"
            f"c = structgen.compile_json_schema({schema!r}, vocab, cache=False)\n"
            "m = c.matcher()\n"
            "m.fill_next_token_bitmask(structgen.allocate_token_bitmask(1, len(tokens)))\n"
        )
        loaded = set(_loaded(compile_it, env))
        assert ("referencing" in loaded) is resolver, schema
        assert "numpy.ma" not in loaded, schema


def test_compiling_a_plain_schema_loads_no_jsonschema(tmp_path: Path) -> None:
    compile_it = (
        VOCAB + f"import structgen\nstructgen.compile_json_schema({SCHEMA!r}, vocab, cache=False)\n"
    )
    assert set(_loaded(compile_it)) & set(JSONSCHEMA) == set()


def test_the_schema_package_names_resolve_on_first_use() -> None:
    from structgen.schema.errors import SchemaError, SchemaWarning
    from structgen.schema.options import SchemaOptions
    from structgen.schema.to_grammar import schema_to_grammar

    assert structgen.schema.SchemaError is SchemaError
    assert structgen.schema.SchemaWarning is SchemaWarning
    assert structgen.schema.SchemaOptions is SchemaOptions
    assert structgen.schema.schema_to_grammar is schema_to_grammar
    assert set(structgen.schema.__all__) <= set(dir(structgen.schema))
    for name in structgen.schema.__all__:
        assert getattr(structgen.schema, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        structgen.schema.nothing  # noqa: B018


def test_the_facade_exports_serialization_error() -> None:
    assert structgen.SerializationError is SerializationError
    assert "SerializationError" in structgen.__all__
    assert issubclass(structgen.SerializationError, structgen.StructgenError)


def test_warm_up_imports_what_a_first_compile_would_import_mid_compile() -> None:
    # (numpy walks: the kernels' load is not what this checks, and takes a second)
    env = {**os.environ, "STRUCTGEN_TRIE_WALK": "numpy"}
    before = _loaded("import structgen", env=env)
    after = _loaded("import structgen\nstructgen.warm_up()", env=env)
    assert SCHEMA_COMPILER not in before and "jsonschema" not in before
    assert SCHEMA_COMPILER in after and "jsonschema" in after
    assert "numba" not in after
