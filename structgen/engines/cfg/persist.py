"""A grammar engine as plain data, and back: what the disk cache and ``to_bytes`` store.

The payload holds the grammar (rules, terminals' regex text) and the work done so far —
compiled terminal automata, product-lexer states and rows, trie walks — as a JSON-able ``meta``
dict and named numpy arrays. Parser states (Earley sets, configurations) are not stored: they
are rebuilt on demand and cheap next to the walks. A restored engine numbers its lexer states
and walks exactly as the saved one did, so its masks are the same bit for bit, at once for
everything computed before the save and lazily for the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import numpy as np

from structgen.engines.cfg.engine import GrammarEngine, TrieWalk
from structgen.errors import ConfigurationError
from structgen.ir import Grammar, Rule, Terminal
from structgen.regex.dfa import ByteDFA

if TYPE_CHECKING:
    from structgen.vocab import Vocabulary

__all__ = ["PAYLOAD_VERSION", "engine_from_payload", "grammar_payload"]

PAYLOAD_VERSION = 1


def grammar_payload(engine: GrammarEngine) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` describing ``engine`` and the work it has done."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {
        "payload_version": PAYLOAD_VERSION,
        "grammar": _grammar_meta(engine.grammar),
        "limits": dict(engine.limits),
        "terminals": _terminals(engine, arrays),
        "lexer": _lexer(engine, arrays),
        "walk_events": engine.walk_events,
    }
    _walks(engine, arrays)
    return meta, arrays


def engine_from_payload(
    meta: dict[str, Any], arrays: dict[str, np.ndarray], vocab: Vocabulary
) -> GrammarEngine:
    """The engine ``meta``/``arrays`` describe, bound to ``vocab`` (whose fingerprint the
    caller has checked)."""
    if meta.get("payload_version") != PAYLOAD_VERSION:
        raise ConfigurationError(
            f"grammar payload version {meta.get('payload_version')!r} is not "
            f"{PAYLOAD_VERSION} (saved by another structgen)"
        )
    grammar = _grammar_from_meta(meta["grammar"], meta["terminals"], arrays)

    def restore(engine: GrammarEngine) -> None:
        _restore_terminals(engine, meta["terminals"], arrays)
        _restore_lexer(engine, meta["lexer"], arrays)
        _restore_walks(engine, arrays)
        engine.walk_events = int(meta["walk_events"])

    return GrammarEngine(grammar, vocab, lazy=True, restore=restore, **meta["limits"])


# -- the grammar -------------------------------------------------------------------------------
def _grammar_meta(grammar: Grammar) -> dict[str, Any]:
    return {
        "start": grammar.start,
        "ignore": list(grammar.ignore),
        "source_name": grammar.source_name,
        "rules": [[rule.lhs, list(rule.rhs)] for rule in grammar.rules],
        "terminals": [
            [t.name, t.pattern, t.literal, t.leftmost, t.automaton is not None]
            for t in grammar.terminals.values()
        ],
    }


def _grammar_from_meta(
    data: dict[str, Any], terminal_meta: list[dict[str, Any]], arrays: dict[str, np.ndarray]
) -> Grammar:
    lazy = {
        entry["name"]: _lazy_automaton(entry, arrays, f"terminal{index}")
        for index, entry in enumerate(terminal_meta)
        if entry.get("class") and not entry.get("built")
    }
    terminals = {}
    for name, pattern, literal, leftmost, has_automaton in data["terminals"]:
        automaton = lazy.get(name) if has_automaton else None
        if has_automaton and automaton is None:
            raise ConfigurationError(f"terminal {name}: its automaton is missing from the payload")
        terminals[name] = Terminal(name, pattern, literal, leftmost=leftmost, automaton=automaton)
    return Grammar(
        terminals=terminals,
        rules=tuple(Rule(lhs, tuple(rhs)) for lhs, rhs in data["rules"]),
        start=data["start"],
        ignore=tuple(data["ignore"]),
        source_name=data["source_name"],
    )


# -- terminals ---------------------------------------------------------------------------------
def _terminals(engine: GrammarEngine, arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """One entry per engine terminal: its automaton's arrays when built (a table), or the
    class and payload of a lazy automaton (always stored: its states may be in use)."""
    out = []
    terminals = engine.terminals
    for index, name in enumerate(terminals.names):
        entry: dict[str, Any] = {"name": name}
        prefix = f"terminal{index}"
        automaton = engine.grammar.terminals[name].automaton if index < terminals.num_real else None
        if automaton is None and terminals.is_built(index):
            automaton = terminals[index]
            entry["built"] = True
        if isinstance(automaton, ByteDFA):
            arrays[f"{prefix}.transitions"] = automaton.transitions
            arrays[f"{prefix}.accepting"] = automaton.accepting
        elif automaton is not None:  # a lazy automaton: its class and its own payload
            inner_meta, inner_arrays = automaton.payload()  # type: ignore[attr-defined]
            cls = type(automaton)
            entry["class"] = f"{cls.__module__}:{cls.__qualname__}"
            entry["meta"] = inner_meta
            entry["arrays"] = sorted(inner_arrays)
            for key, value in inner_arrays.items():
                arrays[f"{prefix}.{key}"] = value
        out.append(entry)
    return out


def _lazy_automaton(entry: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str) -> Any:
    module_name, _, qualname = entry["class"].partition(":")
    if not module_name.startswith("structgen."):
        raise ConfigurationError(f"terminal automaton class {entry['class']!r} is not structgen's")
    cls: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    inner = {key: arrays[f"{prefix}.{key}"] for key in entry["arrays"]}
    return cls.from_payload(entry["meta"], inner)


def _restore_terminals(
    engine: GrammarEngine, entries: list[dict[str, Any]], arrays: dict[str, np.ndarray]
) -> None:
    terminals = engine.terminals
    if [entry["name"] for entry in entries] != terminals.names:
        raise ConfigurationError("the payload's terminals do not match its grammar")
    for index, entry in enumerate(entries):
        prefix = f"terminal{index}"
        if entry.get("built") and entry.get("class"):
            terminals.set_built(index, _lazy_automaton(entry, arrays, prefix))
        elif entry.get("built"):
            dfa = ByteDFA(
                transitions=arrays[f"{prefix}.transitions"].astype(np.int32, copy=False),
                accepting=arrays[f"{prefix}.accepting"].astype(bool, copy=False),
            )
            terminals.set_built(index, dfa)


# -- the product lexer -------------------------------------------------------------------------
def _lexer(engine: GrammarEngine, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    lexer = engine.lexer
    count = lexer.num_states
    sizes = np.array([len(members) for members in lexer.members], dtype=np.int64)
    flat = [pair for members in lexer.members for pair in members]
    pairs = np.array(flat, dtype=np.int64).reshape(-1, 2)
    arrays["lexer.member_counts"] = sizes
    arrays["lexer.members"] = pairs
    arrays["lexer.transitions"] = lexer.transitions[:count].copy()
    arrays["lexer.ready"] = lexer.ready[:count].copy()
    starts = [[sorted(terminals), int(state)] for terminals, state in lexer._starts.items()]
    groups = [list(terminals) for terminals in lexer.accepting_sets]
    return {"states": count, "starts": starts, "groups": groups}


def _restore_lexer(
    engine: GrammarEngine, data: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    lexer = engine.lexer
    for expected, terminals in enumerate(data["groups"]):  # walks name groups by number
        if lexer.group_of(tuple(terminals)) != expected:
            raise ConfigurationError("the payload's accepting groups repeat or are out of order")
    counts = arrays["lexer.member_counts"].tolist()
    pairs = arrays["lexer.members"].tolist()
    position = 0
    for expected, size in enumerate(counts):
        members = frozenset(tuple(pair) for pair in pairs[position : position + size])
        position += size
        if lexer._intern(members) != expected:
            raise ConfigurationError("the payload's lexer states repeat or are out of order")
    count = data["states"]
    lexer.transitions[:count] = arrays["lexer.transitions"]
    lexer.live_bytes[:count] = arrays["lexer.transitions"] >= 0
    lexer.ready[:count] = arrays["lexer.ready"]
    for terminals, state in data["starts"]:
        lexer._starts[frozenset(terminals)] = state


# -- trie walks --------------------------------------------------------------------------------
def _walks(engine: GrammarEngine, arrays: dict[str, np.ndarray]) -> None:
    """Every walk as sparse words (index, bits) and its event groups, concatenated."""
    keys = sorted(engine._walk_ids.items(), key=lambda item: item[1])
    arrays["walks.keys"] = np.array([key for key, _ in keys], dtype=np.int64).reshape(-1, 3)
    indices, bits, word_counts, dense = [], [], [], []
    groups, group_counts, node_counts, nodes = [], [], [], []
    for walk in engine._walks:
        if walk.dense is not None:
            index = np.flatnonzero(walk.dense).astype(np.int32)
            word_bits = walk.dense[index]
        else:
            index, word_bits = walk.word_index, walk.word_bits
        indices.append(index)
        bits.append(word_bits)
        word_counts.append(len(index))
        dense.append(walk.dense is not None)
        group_counts.append(len(walk.event_groups))
        for group in walk.event_groups:
            groups.append(group)
            node_counts.append(len(walk.event_nodes[group]))
            nodes.append(walk.event_nodes[group])
    arrays["walks.dense"] = np.array(dense, dtype=bool)
    arrays["walks.word_counts"] = np.array(word_counts, dtype=np.int64)
    arrays["walks.word_index"] = _concat(indices, np.int32)
    arrays["walks.word_bits"] = _concat(bits, np.int32)
    arrays["walks.group_counts"] = np.array(group_counts, dtype=np.int64)
    arrays["walks.groups"] = np.array(groups, dtype=np.int64)
    arrays["walks.node_counts"] = np.array(node_counts, dtype=np.int64)
    arrays["walks.nodes"] = _concat(nodes, np.int32)


def _restore_walks(engine: GrammarEngine, arrays: dict[str, np.ndarray]) -> None:
    keys = arrays["walks.keys"].tolist()
    word_ends = np.cumsum(arrays["walks.word_counts"]).tolist()
    group_ends = np.cumsum(arrays["walks.group_counts"]).tolist()
    node_ends = np.cumsum(arrays["walks.node_counts"]).tolist()
    word_index, word_bits = arrays["walks.word_index"], arrays["walks.word_bits"]
    groups, nodes = arrays["walks.groups"].tolist(), arrays["walks.nodes"]
    dense = arrays["walks.dense"].tolist()
    word_start = group_start = 0
    for walk_id, key in enumerate(keys):
        index = word_index[word_start : word_ends[walk_id]]
        bits = word_bits[word_start : word_ends[walk_id]]
        word_start = word_ends[walk_id]
        event_nodes = {}
        for position in range(group_start, group_ends[walk_id]):
            first = node_ends[position - 1] if position else 0
            event_nodes[groups[position]] = nodes[first : node_ends[position]]
        group_start = group_ends[walk_id]
        if dense[walk_id]:
            words = np.zeros(engine.num_words, dtype=np.int32)
            words[index] = bits
            walk = TrieWalk(words, None, None, event_nodes)
        else:
            walk = TrieWalk(None, index, bits, event_nodes)
        engine._walk_ids[tuple(key)] = len(engine._walks)
        engine._walks.append(walk)


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False)
