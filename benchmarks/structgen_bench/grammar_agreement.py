"""Masks of the grammar benchmark compared across engines, differences judged by the oracle.

Every engine's masks at every step of the first documents of a grammar are compared with a
reference engine's (structgen), EOS and special tokens aside. A token allowed by one side only
is judged by :class:`~structgen_bench.grammar_oracle.PrefixOracle`: is the text so far plus the
token still a prefix of some string of the grammar? Budgets bound the judging work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from structgen.ir import Grammar
from structgen_bench.grammar_docs import BenchDocument
from structgen_bench.grammar_oracle import PrefixOracle
from structgen_bench.masks import allowed_ids
from structgen_bench.vocabs import LoadedTokenizer

Documents = list[tuple[BenchDocument, list[int]]]

__all__ = ["compare_masks"]

_JUDGE_PER_STEP = 40  # tokens judged by the oracle per differing step and side
_JUDGE_PER_PAIR = 1500  # and per (engine, grammar) in all


def _oracle_states(grammar: Grammar, documents: Documents, indices: list[int],
                   tokenizer: LoadedTokenizer) -> tuple[Any, dict[int, list[Any]]]:  # fmt: skip
    """The prefix oracle of the grammar and its state before every step of the documents."""
    try:
        oracle = PrefixOracle(grammar)
    except Exception:  # a grammar the oracle cannot read: differences stay unjudged
        return None, {}
    states: dict[int, list[Any]] = {}
    for index in indices:
        _document, ids = documents[index]
        state = oracle.initial()
        sequence = [state]
        for token in ids:
            state = oracle.feed(state, tokenizer.token_bytes[token] or b"") if state else None
            sequence.append(state)
        states[index] = sequence
    return oracle, states


def compare_masks(masks: dict[str, dict[int, list[np.ndarray]]], grammar: Grammar,
                  documents: Documents, tokenizer: LoadedTokenizer,
                  reference: str = "structgen") -> dict[str, dict[str, Any]]:  # fmt: skip
    """Each engine's kept masks against the reference's, step by step (EOS, specials aside).

    ``masks[engine][document index]`` holds the masks of that document's first steps;
    ``documents[index]`` is the document and its token ids.

    Tokens allowed by one side only are judged by an independent oracle
    (:mod:`structgen_bench.grammar_oracle`: is the text so far plus the token still a prefix of
    some string of the grammar?): "valid" tokens the other side masked are completeness gaps
    (or deliberate narrowing), "invalid" tokens allowed are soundness errors.
    """
    if not masks.get(reference):
        return {}
    ignore = np.array(sorted({tokenizer.eos_id} | tokenizer.special_ids), dtype=np.int64)

    def allowed(mask: np.ndarray) -> np.ndarray:
        return np.setdiff1d(allowed_ids(mask, tokenizer.vocab_size), ignore, assume_unique=True)

    ref_masks = masks[reference]
    indices = sorted({i for kept in masks.values() for i in kept} & set(ref_masks))
    oracle, states = _oracle_states(grammar, documents, indices, tokenizer)
    out: dict[str, dict[str, Any]] = {}
    for name, theirs_by_doc in masks.items():
        if name == reference or not theirs_by_doc:
            continue
        tally = {"steps": 0, "equal": 0, "narrower": 0, "wider": 0, "incomparable": 0}
        judged = {
            side: {"valid": 0, "valid_whitespace": 0, "invalid": 0, "unjudged": 0}
            for side in (f"only_{reference}", f"only_{name}")
        }
        examples: list[dict[str, Any]] = []
        invalid_examples: list[dict[str, Any]] = []
        budget = _JUDGE_PER_PAIR
        for index in sorted(set(ref_masks) & set(theirs_by_doc)):
            document, ids = documents[index]
            for step, (ours, theirs) in enumerate(zip(ref_masks[index], theirs_by_doc[index])):
                tally["steps"] += 1
                a, b = allowed(ours), allowed(theirs)
                only_ref = np.setdiff1d(a, b, assume_unique=True)
                only_other = np.setdiff1d(b, a, assume_unique=True)
                if not only_ref.size and not only_other.size:
                    tally["equal"] += 1
                    continue
                key = ("narrower" if not only_other.size else "wider" if not only_ref.size
                       else "incomparable")  # fmt: skip
                tally[key] += 1
                state = states.get(index, [None] * (step + 1))[step]
                prefix = b"".join(tokenizer.token_bytes[i] or b"" for i in ids[:step])
                example: dict[str, Any] = {
                    "source": document.source,
                    "step": step,
                    "prefix_tail": repr(prefix[-50:].decode("utf-8", "replace")),
                    f"allowed_{reference}": int(a.size),
                    f"allowed_{name}": int(b.size),
                }
                for side, tokens in ((f"only_{reference}", only_ref), (f"only_{name}", only_other)):
                    shown: list[list[Any]] = []
                    for position, token in enumerate(tokens.tolist()):
                        data = tokenizer.token_bytes[token] or b""
                        verdict: bool | None = None
                        if oracle is not None and state is not None and budget > 0 and (
                            position < _JUDGE_PER_STEP
                        ):
                            budget -= 1
                            verdict = oracle.feed(state, data) is not None
                        counts = judged[side]
                        if verdict is None:
                            counts["unjudged"] += 1
                        else:
                            counts["valid" if verdict else "invalid"] += 1
                            if verdict and not data.strip(b" \t\r\n"):
                                counts["valid_whitespace"] += 1
                        if len(shown) < 6:
                            shown.append([token, repr(data), verdict])
                        if verdict is False and len(invalid_examples) < 5:
                            invalid_examples.append({
                                "side": side, "source": document.source, "step": step,
                                "prefix_tail": example["prefix_tail"], "token": token,
                                "bytes": repr(data),
                            })  # fmt: skip
                    example[side] = shown
                if len(examples) < 5:
                    examples.append(example)
        out[name] = {
            "reference": reference,
            **tally,
            "oracle": "character-level Earley over the grammar IR (structgen_bench.grammar_oracle)"
            if oracle is not None else None,
            "judged": judged,
            "invalid_examples": invalid_examples,
            "examples": examples,
        }
    return out
