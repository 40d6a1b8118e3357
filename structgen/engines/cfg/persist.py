"""A grammar engine as plain data, and back: what the disk cache and ``to_bytes`` store.

The payload holds the grammar (a symbol table; rules as integer arrays; terminals' regex text)
and the work done so far — compiled terminal automata, product-lexer states and rows, trie
walks — as a JSON-able ``meta`` dict and named numpy arrays. Parser states (Earley sets,
configurations) are not stored: they are rebuilt on demand and cheap next to the walks. A
restored engine numbers its lexer states and walks exactly as the saved one did, so its masks
are the same bit for bit, at once for everything computed before the save and lazily for the
rest.

Loading is cheap where the first mask does not look: a stored terminal automaton comes back as
a :class:`DeferredAutomaton` that answers ``accepts`` for its saved states from stored flags
(all the lexer's states need) and rebuilds the automaton only when a row is first asked for
(when decoding reaches a lexer state not saved). Each stored automaton is one array
(``terminal{i}``: its payload's meta and arrays packed, see :func:`pack`), so the byte form's
header and the load do not grow with the arrays of its parts.
"""

from __future__ import annotations

import importlib
import json
import struct
from collections.abc import Mapping
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from structgen.engines.cfg.engine import GrammarEngine, TrieWalk, walk_start_key
from structgen.errors import ConfigurationError, SerializationError
from structgen.ir import Grammar, Rule, Terminal
from structgen.key_set_rules import KeySetRules
from structgen.regex.dfa import ByteAutomaton, ByteDFA

if TYPE_CHECKING:
    from structgen.vocab import Vocabulary

__all__ = [
    "PAYLOAD_VERSION",
    "DeferredAutomaton",
    "engine_from_payload",
    "grammar_payload",
    "pack",
    "unpack",
]

# 2: a symbol table, rule arrays, accepting flags; 3: one packed array per stored terminal
PAYLOAD_VERSION = 3
_TABLE = "table"  # the class of a terminal stored as a ByteDFA's transitions and accepting

Arrays = Mapping[str, np.ndarray]


def grammar_payload(engine: GrammarEngine) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` describing ``engine`` and the work it has done."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {
        "payload_version": PAYLOAD_VERSION,
        "grammar": _grammar_meta(engine, arrays),
        "limits": dict(engine.limits),
        "terminals": _terminals(engine, arrays),
        "lexer": _lexer(engine, arrays),
        "walk_events": engine.walk_events,
    }
    _walks(engine, arrays)
    return meta, arrays


def engine_from_payload(meta: dict[str, Any], arrays: Arrays, vocab: Vocabulary) -> GrammarEngine:
    """The engine ``meta``/``arrays`` describe, bound to ``vocab`` (whose fingerprint the
    caller has checked)."""
    if meta.get("payload_version") != PAYLOAD_VERSION:
        raise ConfigurationError(
            f"grammar payload version {meta.get('payload_version')!r} is not "
            f"{PAYLOAD_VERSION} (saved by another structgen)"
        )
    entries = meta["terminals"]
    flags = _Flags(arrays)
    stored = {
        index: DeferredAutomaton(entry, arrays, f"terminal{index}", flags)
        for index, entry in enumerate(entries)
        if entry.get("class")
    }
    given = {entries[i]["name"]: a for i, a in stored.items() if not entries[i].get("built")}
    grammar = _grammar_from_meta(meta["grammar"], given, arrays)

    def restore(engine: GrammarEngine) -> None:
        _restore_terminals(engine, entries, stored)
        _restore_lexer(engine, meta["lexer"], arrays)
        _restore_walks(engine, arrays)
        engine.walk_events = int(meta["walk_events"])

    return GrammarEngine(grammar, vocab, lazy=True, restore=restore, **meta["limits"])


# -- the grammar -------------------------------------------------------------------------------
def _grammar_meta(engine: GrammarEngine, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Symbols numbered (the grammar's terminals in its order, then its nonterminals sorted),
    rules as three arrays: left-hand sides, right-hand side lengths, right-hand sides back to
    back. Read off the engine's Earley grammar, which holds the rules as ints already (a
    grammar of an "any order" object has ~100k rules: a pass over names per symbol was ~50 ms
    of the snapshot a compile takes for the disk cache)."""
    grammar, earley = engine.grammar, engine.earley
    terminals = list(grammar.terminals)
    # (by name: the Earley numbers, but for the states of lazy rules numbered as they were
    # made, which a restored engine numbers by name with the rest)
    nonterminals = sorted(earley.nonterminal_ids)
    position = {name: index for index, name in enumerate(terminals)}
    # the Earley numbers (its terminals, S', its nonterminals) as the payload's
    remap = np.empty(earley.num_terminals + 1 + len(nonterminals), dtype=np.int32)
    remap[: earley.num_terminals] = [position[name] for name in earley.terminal_ids]
    remap[earley.num_terminals] = -1  # S' → start: not a rule of the grammar
    numbers = [earley.nonterminal_ids[name] for name in nonterminals]
    remap[numbers] = np.arange(len(nonterminals)) + len(terminals)
    rules = earley.rules[1:]
    heads = np.array([lhs for lhs, _ in rules], dtype=np.int32)
    body = np.array(list(chain.from_iterable(rhs for _, rhs in rules)), dtype=np.int32)
    arrays["grammar.lhs"] = remap[heads]
    arrays["grammar.rhs_counts"] = np.array(earley.rule_length[1:], dtype=np.int32)
    arrays["grammar.rhs"] = remap[body]
    symbols = terminals + nonterminals
    return {
        "lazy": [source.payload() for source in grammar.lazy],
        "start": grammar.start,
        "ignore": list(grammar.ignore),
        "source_name": grammar.source_name,
        "symbols": symbols,
        "terminals": [
            [t.pattern, t.literal, t.leftmost, t.automaton is not None]
            for t in grammar.terminals.values()
        ],
    }


def _grammar_from_meta(
    data: dict[str, Any], given: dict[str, DeferredAutomaton], arrays: Arrays
) -> Grammar:
    """The grammar; ``given`` holds the automata its terminals carry, by name."""
    symbols: list[str] = data["symbols"]
    if not all(isinstance(name, str) for name in symbols) or len(set(symbols)) != len(symbols):
        raise ConfigurationError("the payload's symbols must be distinct names")
    terminals = {}
    for name, (pattern, literal, leftmost, has_automaton) in zip(symbols, data["terminals"]):
        automaton = given.get(name) if has_automaton else None
        if has_automaton and automaton is None:
            raise ConfigurationError(f"terminal {name}: its automaton is missing from the payload")
        terminals[name] = Terminal(name, pattern, literal, leftmost=leftmost, automaton=automaton)
    if len(terminals) != len(data["terminals"]):
        raise ConfigurationError("the payload has more terminals than symbols")
    heads, counts, body = arrays["grammar.lhs"], arrays["grammar.rhs_counts"], arrays["grammar.rhs"]
    for numbers in (heads, body):
        if len(numbers) and not (0 <= int(numbers.min()) and int(numbers.max()) < len(symbols)):
            raise ConfigurationError("the payload's rules name symbols it does not have")
    if len(counts) != len(heads) or (counts < 0).any() or int(counts.sum()) != len(body):
        raise ConfigurationError("the payload's rule lengths do not add up")
    names = [symbols[number] for number in body.tolist()]
    ends = np.cumsum(counts).tolist()
    bodies = [tuple(names[start:end]) for start, end in zip([0, *ends], ends)]
    rules = tuple(map(Rule, [symbols[head] for head in heads.tolist()], bodies))
    try:
        lazy = tuple(KeySetRules.from_payload(source) for source in data.get("lazy", ()))
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigurationError(f"the payload's lazy rules are malformed: {error}") from None
    return Grammar(
        terminals=terminals,
        rules=rules,
        start=data["start"],
        ignore=tuple(data["ignore"]),
        source_name=data["source_name"],
        lazy=lazy,
    )


# -- terminals ---------------------------------------------------------------------------------
class _Flags:
    """Every stored terminal's accepting flags (of the states numbered at the save), decoded
    once for all of them when a terminal first needs its own."""

    __slots__ = ("_arrays", "_lists")

    def __init__(self, arrays: Arrays) -> None:
        self._arrays = arrays
        self._lists: list[list[bool]] | None = None

    def __getitem__(self, number: int) -> list[bool]:
        if self._lists is None:
            flat = self._arrays["terminals.accepts"].tolist()
            ends = np.cumsum(self._arrays["terminals.accept_counts"]).tolist()
            if (ends[-1] if ends else 0) != len(flat):
                raise SerializationError("the stored terminals' accepting flags do not add up")
            self._lists = [flat[start:end] for start, end in zip([0, *ends], ends)]
        return self._lists[number]


class DeferredAutomaton:
    """A stored terminal automaton (a :class:`~structgen.regex.dfa.ByteAutomaton`), rebuilt
    from its arrays on the first ``row`` (or ``accepts`` of a state numbered after the save);
    until then ``accepts`` reads the stored flags of the states saved."""

    __slots__ = ("_entry", "_arrays", "_prefix", "_all_flags", "_flags", "_built")

    def __init__(self, entry: dict[str, Any], arrays: Arrays, prefix: str, flags: _Flags) -> None:
        self._entry = entry
        self._arrays = arrays
        self._prefix = prefix
        self._all_flags = flags
        self._flags: list[bool] | None = None
        self._built: ByteAutomaton | None = None

    def accepts(self, state: int) -> bool:
        if self._built is None:
            if state < len(self.flags()):
                return self.flags()[state]
        return self.automaton().accepts(state)

    def row(self, state: int) -> np.ndarray:
        built = self._built
        return (built if built is not None else self.automaton()).row(state)

    def flags(self) -> list[bool]:
        """Whether each state numbered at the save accepts."""
        if self._flags is None:
            number = self._entry.get("flags")
            if type(number) is not int:
                raise SerializationError(f"terminal {self._entry.get('name')!r} has no flags")
            self._flags = self._all_flags[number]
        return self._flags

    @property
    def is_built(self) -> bool:
        """Whether the automaton has been rebuilt from its arrays."""
        return self._built is not None

    def automaton(self) -> ByteAutomaton:
        """The automaton itself (rebuilt now if it was not yet)."""
        if self._built is None:
            try:
                self._built = _rebuild(self._entry, self._arrays, self._prefix)
            except (ValueError, KeyError, IndexError, TypeError) as error:
                raise SerializationError(
                    f"the stored automaton of terminal {self._entry.get('name')!r} cannot be "
                    f"rebuilt: {error}"
                ) from error
        return self._built

    def stored(self, name: str, arrays: dict[str, np.ndarray]) -> str:
        """Its class; its packed array copied into ``arrays`` as ``name`` (a second save of
        an automaton never rebuilt)."""
        arrays[name] = self._arrays[self._prefix]
        return str(self._entry["class"])


def _rebuild(entry: dict[str, Any], arrays: Arrays, name: str) -> ByteAutomaton:
    meta, inner = unpack(arrays[name])
    if entry["class"] == _TABLE:
        return ByteDFA(
            transitions=inner["transitions"].astype(np.int32, copy=False),
            accepting=inner["accepting"].astype(bool, copy=False),
        )
    module_name, _, qualname = entry["class"].partition(":")
    if not module_name.startswith("structgen."):
        raise ConfigurationError(f"terminal automaton class {entry['class']!r} is not structgen's")
    cls: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    return cls.from_payload(meta, inner)


_HEADER = struct.Struct("<I")
_PLAIN = frozenset(
    np.dtype(t).newbyteorder("<").str
    for t in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    + ("float32", "float64")
)


def pack(meta: Any, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """``meta`` (JSON-able) and ``arrays`` (plain numbers) as one uint8 array: a u32 length,
    a JSON header (meta, and each array's name, little-endian dtype and shape), the arrays'
    bytes back to back; :func:`unpack` reads it."""
    index, parts = [], []
    for key in sorted(arrays):
        array = np.asarray(arrays[key])
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder != "|" else array.dtype
        if dtype.str not in _PLAIN:
            raise SerializationError(
                f"array {key!r} has dtype {array.dtype}, not a plain number type"
            )
        index.append([key, dtype.str, list(array.shape)])
        parts.append(np.ascontiguousarray(array, dtype=dtype).tobytes())
    header = json.dumps({"meta": meta, "arrays": index}, separators=(",", ":")).encode()
    packed = b"".join([_HEADER.pack(len(header)), header, *parts])
    return np.frombuffer(packed, dtype=np.uint8).copy()


def unpack(packed: np.ndarray) -> tuple[Any, dict[str, np.ndarray]]:
    """The ``(meta, arrays)`` :func:`pack` stored (arrays native and writable); ValueError
    when the bytes do not describe them exactly."""
    data = np.ascontiguousarray(packed, dtype=np.uint8).tobytes()
    if len(data) < _HEADER.size:
        raise ValueError("packed arrays: too short")
    (length,) = _HEADER.unpack_from(data)
    position = _HEADER.size + length
    if position > len(data):
        raise ValueError("packed arrays: the header runs past the data")
    header = json.loads(data[_HEADER.size : position].decode("utf-8"))
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
        raise ValueError("packed arrays: not an object with an array list")
    arrays: dict[str, np.ndarray] = {}
    for key, dtype_str, shape in header["arrays"]:
        if dtype_str not in _PLAIN or not isinstance(key, str) or key in arrays:
            raise ValueError(f"packed array {key!r}: bad name or dtype {dtype_str!r}")
        if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
            raise ValueError(f"packed array {key!r}: bad shape")
        dtype = np.dtype(dtype_str)
        size = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
        if position + size > len(data):
            raise ValueError(f"packed array {key!r}: its bytes run past the data")
        flat = np.frombuffer(data, dtype=dtype, count=size // dtype.itemsize, offset=position)
        arrays[key] = flat.reshape(shape).astype(dtype.newbyteorder("="), copy=True)
        position += size
    if position != len(data):
        raise ValueError("packed arrays: bytes after the last array")
    return header.get("meta"), arrays


def _terminals(engine: GrammarEngine, arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """One entry per engine terminal: its automaton when built (a table, or the class and
    payload of a lazy automaton), or the lazy automaton the grammar gives it (always stored:
    its states may be in use)."""
    out = []
    flags: list[list[bool]] = []
    terminals = engine.terminals
    for index, name in enumerate(terminals.names):
        entry: dict[str, Any] = {"name": name}
        automaton = engine.grammar.terminals[name].automaton if index < terminals.num_real else None
        if automaton is None and terminals.is_built(index):
            automaton = terminals[index]
            entry["built"] = True
        if automaton is not None:
            entry.update(_describe(automaton, f"terminal{index}", arrays))
            entry["flags"] = len(flags)
            flags.append(_accepting_flags(automaton))
        out.append(entry)
    arrays["terminals.accepts"] = np.array([f for part in flags for f in part], dtype=bool)
    arrays["terminals.accept_counts"] = np.array([len(part) for part in flags], dtype=np.int64)
    return out


def _accepting_flags(automaton: Any) -> list[bool]:
    """Whether each state the automaton has numbered so far accepts."""
    if isinstance(automaton, DeferredAutomaton) and not automaton.is_built:
        return automaton.flags()
    if isinstance(automaton, DeferredAutomaton):
        automaton = automaton.automaton()
    if isinstance(automaton, ByteDFA):
        return automaton.accepting.tolist()
    return [automaton.accepts(state) for state in range(automaton.num_states)]


def _describe(automaton: Any, name: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The ``class`` of a terminal automaton's entry; its payload goes into ``arrays`` packed
    as ``name``."""
    if isinstance(automaton, DeferredAutomaton):
        if not automaton.is_built:
            return {"class": automaton.stored(name, arrays)}
        automaton = automaton.automaton()
    if isinstance(automaton, ByteDFA):
        table = {"transitions": automaton.transitions, "accepting": automaton.accepting}
        arrays[name] = pack(None, table)
        return {"class": _TABLE}
    inner_meta, inner_arrays = automaton.payload()
    arrays[name] = pack(inner_meta, inner_arrays)
    cls = type(automaton)
    return {"class": f"{cls.__module__}:{cls.__qualname__}"}


def _restore_terminals(
    engine: GrammarEngine, entries: list[dict[str, Any]], stored: dict[int, DeferredAutomaton]
) -> None:
    terminals = engine.terminals
    if [entry["name"] for entry in entries] != terminals.names:
        raise ConfigurationError("the payload's terminals do not match its grammar")
    for index, entry in enumerate(entries):
        if entry.get("built"):
            automaton = stored.get(index)
            if automaton is None:
                raise ConfigurationError(f"terminal {entry['name']}: built but not stored")
            terminals.set_built(index, automaton)


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


def _restore_lexer(engine: GrammarEngine, data: dict[str, Any], arrays: Arrays) -> None:
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
    transitions = arrays["lexer.transitions"]
    lexer.transitions[:count] = transitions
    lexer.ready[:count] = arrays["lexer.ready"]
    for terminals, state in data["starts"]:
        lexer._starts[frozenset(terminals)] = state


# -- trie walks --------------------------------------------------------------------------------
def _walks(engine: GrammarEngine, arrays: dict[str, np.ndarray]) -> None:
    """Every walk as sparse words (index, bits) and its event groups, concatenated; the key
    each walk was made for, and the keys that alias a child walk made for another parent."""
    made: dict[int, tuple[int, int, int]] = {}
    aliases: list[tuple[int, int, int, int]] = []
    for key, walk_id in engine._walk_ids.items():  # (insertion order: a walk's key first)
        if walk_id in made:
            aliases.append((*key, walk_id))
        else:
            made[walk_id] = key
    keys = [made[walk_id] for walk_id in range(len(engine._walks))]
    arrays["walks.keys"] = np.array(keys, dtype=np.int64).reshape(-1, 3)
    arrays["walks.aliases"] = np.array(aliases, dtype=np.int64).reshape(-1, 4)
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


def _restore_walks(engine: GrammarEngine, arrays: Arrays) -> None:
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
    aliases = arrays["walks.aliases"].tolist() if "walks.aliases" in arrays else []
    for parent, group, state, walk_id in aliases:
        engine._walk_ids[(parent, group, state)] = walk_id
    # child walks by their start nodes and state, as the saved engine shared them
    for (parent, group, state), walk_id in engine._walk_ids.items():
        if parent >= 0:
            nodes = engine._walks[parent].event_nodes[group]
            engine._child_walks.setdefault((walk_start_key(nodes), state), walk_id)


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False)
