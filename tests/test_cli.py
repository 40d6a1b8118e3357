"""The ``structgen`` command as a shell sees it: paths, closed pipes, closed standard output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from structgen.cli.arguments import grammar_source
from structgen.cli.main import EXIT_BROKEN_PIPE, EXIT_USAGE, main


def test_grammar_arguments_become_paths_only_where_they_name_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.lark").write_text('start: "x"\n', encoding="utf-8")
    assert grammar_source("mine.lark") == Path("mine.lark")
    assert grammar_source(str(tmp_path)) == tmp_path
    assert grammar_source("missing.gbnf") == Path("missing.gbnf")
    assert grammar_source("json.gbnf") == "json.gbnf"  # a bundled grammar of one syntax
    assert grammar_source("sql_select") == "sql_select"
    assert grammar_source('root ::= "a"') == 'root ::= "a"'


def test_a_directory_given_as_grammar_is_a_named_error(tmp_path, capsys):
    status = main(["generate", "--grammar", str(tmp_path), "a prompt"])  # fails before the model
    assert status == EXIT_USAGE
    assert "is a directory, not a grammar file" in capsys.readouterr().err


def test_a_closed_standard_output_is_a_named_error(tmp_path):
    schema = tmp_path / "s.json"
    schema.write_text('{"type": "integer"}', encoding="utf-8")
    command = f"exec {sys.executable} -m structgen.cli example --schema {schema} >&-"
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "standard output is closed" in done.stderr and "Traceback" not in done.stderr
    # Closed after start: the first write fails with EBADF.
    done = subprocess.run(
        [sys.executable, "-c", "import os, sys; os.close(1); from structgen.cli.main import main;"
         f" sys.exit(main(['example', '--schema', {str(schema)!r}]))"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "standard output is closed" in done.stderr and "Traceback" not in done.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """``structgen … | head -1``: no traceback, the status of a process killed by SIGPIPE."""
    grammar = tmp_path / "g.lark"
    grammar.write_text('start: "x"\n', encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the first write fails with EPIPE
    script = (
        "import sys; from structgen.cli.main import main\n"
        "from structgen.cli import compile_cmd\n"
        "compile_cmd.run = lambda args: print('x' * 100000) or 0\n"
        f"sys.exit(main(['compile', '--grammar', {str(grammar)!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(write_end)
    assert done.returncode == EXIT_BROKEN_PIPE, done.stderr
    assert "Traceback" not in done.stderr
