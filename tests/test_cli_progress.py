"""Progress of long work in the command line (issue 13, part 6): shown on standard error only
after a delay and only when asked; the library reports nothing by default."""

from __future__ import annotations

import io
import time

from structgen.cli import progress
from structgen.models import progress_stage, reporting_progress


def test_a_stage_longer_than_its_delay_shows_its_elapsed_time():
    out = io.StringIO()
    with progress.stage("compiling the constraint", delay=0.05, file=out):
        time.sleep(0.5)
    assert "compiling the constraint: 00:00" in out.getvalue()


def test_quick_work_prints_nothing():
    out = io.StringIO()
    with progress.stage("loading", delay=5.0, file=out):
        pass
    assert out.getvalue() == ""


def test_the_library_is_silent_unless_a_caller_asks():
    seen = []

    def factory(description):
        seen.append(description)
        return progress.stage(description, delay=60.0, file=io.StringIO())

    with progress_stage("not reported"):
        pass
    with reporting_progress(factory):
        with progress_stage("reported"):
            pass
    with progress_stage("not reported either"):
        pass
    assert seen == ["reported"]


def test_progress_is_only_for_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert progress.enabled() is False

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    assert progress.enabled() is True


def test_the_cli_reports_the_compile_stage(monkeypatch):
    """``structgen compile`` on a terminal: its stages go through the progress hook."""
    from structgen.cli import main as cli_main

    seen = []
    real_stage = progress.stage

    def factory(description, **_):
        seen.append(description)
        return real_stage(description, delay=60.0, file=io.StringIO())

    monkeypatch.setattr(progress, "enabled", lambda: True)
    monkeypatch.setattr(progress, "stage", factory)
    assert cli_main.main(["compile", "--regex", "[a-z]+", "--no-cache", "--json"]) == 0
    assert seen == ["loading the vocabulary", "compiling the constraint"]
