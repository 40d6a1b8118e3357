"""``model=`` / ``--model`` as the id of a model already in the local Hugging Face cache: a tiny
random model saved in the hub's cache layout under a temporary ``HF_HUB_CACHE`` (no network:
everything is read with ``local_files_only=True``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import structgen
from structgen.cli.main import EXIT_USAGE, main
from structgen.errors import ConfigurationError
from structgen.models import hf_cache_dir, resolve_model

_REPO = "tiny-org/tiny-llama"
_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _save_tiny_model(folder: Path) -> None:
    """A random two-layer Llama with a byte-level BPE tokenizer trained here on a few words."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        ["the 123 456 7890 numbers and words"] * 4,
        vocab_size=300,
        min_frequency=1,
        special_tokens=["<|endoftext|>"],
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        eos_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory) -> Path:
    """A hub cache holding ``_REPO`` as the hub lays it out: refs/main names a snapshot."""
    cache = tmp_path_factory.mktemp("hub")
    entry = cache / f"models--{_REPO.replace('/', '--')}"
    snapshot = entry / "snapshots" / _COMMIT
    snapshot.mkdir(parents=True)
    _save_tiny_model(snapshot)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(_COMMIT, encoding="utf-8")
    return cache


def test_a_repo_id_in_the_cache_loads_without_the_network(hub_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hf_cache_dir() == hub_cache
    model, tokenizer = resolve_model(_REPO, device="cpu")
    assert model.config.vocab_size == len(tokenizer) and tokenizer.eos_token == "<|endoftext|>"
    text = structgen.generate("numbers:", regex=r"[0-9]{3}", model=_REPO, max_new_tokens=8)
    assert re.fullmatch(r"[0-9]{3}", text)


def test_a_repo_id_not_in_the_cache_names_the_cache(hub_cache, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigurationError, match=re.escape(str(hub_cache))) as error:
        resolve_model("tiny-org/absent-model")
    assert "never downloads" in str(error.value)
    status = main(["generate", "--model", "tiny-org/absent-model", "--regex", "a", "p"])
    assert status == EXIT_USAGE
    err = capsys.readouterr().err
    assert "tiny-org/absent-model" in err and str(hub_cache) in err and "Traceback" not in err


def test_the_cli_generates_with_a_cached_repo_id(hub_cache, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    status = main(["generate", "--model", _REPO, "--regex", "[0-9]{2}", "--max-new-tokens", "6",
                   "numbers:"])  # fmt: skip
    assert status == 0
    assert re.fullmatch(r"[0-9]{2}\n", capsys.readouterr().out)


def test_the_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hf_cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hf_cache_dir() == tmp_path / "xdg" / "huggingface" / "hub"
