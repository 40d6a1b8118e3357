"""Grammar × vocabulary → parser configurations, byte steps and exact token masks.

A *thread* ``(lexer_state, earley_set, ignore_run)`` is a group of lexemes that started at the
same byte, after the parser reached ``earley_set``; ``ignore_run`` counts the ignored lexemes
(whitespace, comments) read since the last real terminal. A *configuration* is the interned set
of live threads plus whether the text so far is a complete sentence (``final``).

Token masks (see :meth:`GrammarEngine.mask`): the trie is walked from every thread's lexer
state (numba). Tokens that stay inside a lexeme are decided there, with no parser work; this
root walk depends only on the lexer state and is cached per state (the context-independent
part). Where a lexeme can end inside a token, the walk records an event, once per distinct
(trie node, lexer state): lexemes that started at different nodes of one walk are tracked
together, so the many ways a token splits into lexemes (``WORD+``) cost no more than the
trie's nodes times the lexer's states. The parser completes the lexeme, predicts what may
follow, and the walk resumes below those trie nodes from the new lexer state (the
context-dependent part). Each walk is keyed by the chain that led to it — (parent walk,
terminals completed at the event, new lexer state) — which fixes its start nodes, so every walk
is context-independent and cached; a mask is the union of the cached walks its configuration
reaches through the parser, and ``max_mask_sets`` bounds the (thread, walk) pairs and the
parser states one mask may build. Whole masks are also memoised per configuration; interning
makes equal configurations identical.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from structgen.bitmask import bitmask_row, bitmask_words
from structgen.engines.cfg.earley import EarleyGrammar, EarleySet
from structgen.engines.cfg.lexer import UNEXPLORED, ProductLexer
from structgen.engines.cfg.matcher import GrammarMatcher
from structgen.engines.cfg.terminals import TerminalAutomata
from structgen.errors import ConfigurationError, LimitExceededError
from structgen.kernels.numpy_walk import trie_levels
from structgen.kernels.trie_walk import numba_walk_ready, or_words_kernel, walk_trie_events
from structgen.regex.automaton import distinct
from structgen.regex.dfa import DEAD, ByteDFA
from structgen.vocab.special import engine_vocabulary, special_token_ids
from structgen.vocab.trie import build_trie

if TYPE_CHECKING:
    from structgen.ir import Grammar
    from structgen.vocab import Vocabulary

Thread = tuple  # (lexer_state: int, earley_set: EarleySet, ignore_run: int)
GROWTH_LOCK = threading.RLock()
"""Held while any grammar engine of this process grows (new configurations, Earley sets, lexer
rows, walks, and the walks and terminal automata shared by every engine), so matchers of one
compiled grammar may run on several threads. What is already memoised — a mask, a byte step —
is read without it: those are only ever added (or dropped whole), never changed."""
SHARED_WALKS = 2048
"""Root walks of one-terminal lexer states kept per process for every engine (~16 KB each
with a 128k vocabulary)."""
_shared_walks: OrderedDict[tuple[int, int, int], tuple[Any, Any, np.ndarray, np.ndarray]] = (
    OrderedDict()
)
_twin_lexers: weakref.WeakKeyDictionary[Any, ProductLexer] = weakref.WeakKeyDictionary()
"""One-terminal lexers of the twin automata walked in place of bounded strings' states."""
_twin_reach: dict[tuple[int, int, int], tuple[int]] = {}
"""How deep (bytes) each shared twin walk reaches: its allowed tokens and lexeme ends."""
_CLIPPED_PATHS = 256
"""Tokens and boundaries past a bounded string's slack read one by one before a plain walk
pays instead (a vocabulary has few tokens longer than 64 bytes: 123 of Llama-3's 128k)."""
_BALL_ROWS = 32  # lexer rows a walk may fill around its state before following the trie
_MAJORITY = 64  # bytes that must lead to one state for a root walk to be a difference walk


class Config:
    """An interned parser configuration (compare by identity). It carries its token mask once
    built (``mask``, the engine's memo: the hit path of every decoding step reads an attribute)
    and whether that was read since the memo last looked (``recent``: the memo evicts the
    oldest mask not read since, a second-chance approximation of least recently used)."""

    __slots__ = ("threads", "final", "mask", "recent", "_steps", "__weakref__")

    def __init__(self, threads: tuple, final: bool) -> None:
        self.threads = threads
        self.final = final
        self.mask: tuple[np.ndarray, bool] | None = None
        self.recent = False
        self._steps: dict[int, Config | None] = {}

    def __repr__(self) -> str:
        return f"Config({len(self.threads)} threads, final={self.final})"


class GrammarEngine:
    """A grammar bound to a vocabulary (an :class:`~structgen.automaton.Automaton` of kind
    ``"grammar"``): configurations, byte steps and memoised token masks."""

    kind: Literal["grammar"] = "grammar"

    def __init__(
        self,
        grammar: Grammar,
        vocab: Vocabulary,
        *,
        max_ignore_bytes: int = 64,
        max_ignore_run: int = 1,
        max_lexer_states: int = 200_000,
        max_items: int = 200_000,
        max_terminal_states: int = 100_000,
        mask_cache_size: int = 4096,
        max_cached_items: int = 2_000_000,
        max_mask_sets: int = 50_000,
        max_walk_events: int = 1 << 24,
        single_spaces: bool = False,
        lazy: bool = False,
        restore: Callable[[GrammarEngine], None] | None = None,
    ) -> None:
        """``lazy`` compiles terminals when the lexer first needs them (else all now);
        ``restore`` (used by :mod:`structgen.engines.cfg.persist`) installs saved work into the
        new engine before its initial configuration is computed. ``single_spaces``: where the
        ignored text is one space, it never stands beside a terminal's own space — not after a
        terminal whose strings all end with a space, and no terminal whose strings all start
        with one right after it — so a keyword that carries its spaces (``/ and /`` once
        generation bounds whitespace) is not padded to two spaces. The language only narrows,
        and never into a dead end: the terminal itself reads the space the ignored lexeme
        would have."""
        if max_ignore_bytes < 1 or max_ignore_run < 0:
            raise ConfigurationError("max_ignore_bytes must be ≥ 1 and max_ignore_run ≥ 0")
        if max_cached_items < 1 or max_mask_sets < 1 or max_walk_events < 1:
            raise ConfigurationError(
                "max_cached_items, max_mask_sets and max_walk_events must be ≥ 1"
            )
        self.limits = {
            "max_ignore_bytes": max_ignore_bytes,
            "max_ignore_run": max_ignore_run,
            "max_lexer_states": max_lexer_states,
            "max_items": max_items,
            "max_terminal_states": max_terminal_states,
            "mask_cache_size": mask_cache_size,
            "max_cached_items": max_cached_items,
            "max_mask_sets": max_mask_sets,
            "max_walk_events": max_walk_events,
            "single_spaces": single_spaces,
        }
        """The limits this engine was built with (what a saved engine is rebuilt with)."""
        self.max_walk_events = max_walk_events
        self.max_cached_items = max_cached_items
        self.max_mask_sets = max_mask_sets
        self.grammar = grammar
        self.vocab = vocab
        self.max_ignore_run = max_ignore_run if grammar.ignore else 0
        used = sorted(grammar.terminals.keys() & _symbols_read(grammar))
        self.terminal_names = used + [f"{name} (ignored)" for name in grammar.ignore]
        self.terminals = TerminalAutomata(
            grammar,
            used,
            max_states=max_terminal_states,
            max_ignore_bytes=max_ignore_bytes,
            lazy=lazy,
        )
        self.num_real_terminals = len(used)
        self.ignore_terminals = frozenset(range(len(used), len(self.terminals)))
        self.single_spaces = (
            single_spaces and bool(self.ignore_terminals) and self._ignores_one_space()
        )
        self._space_edges: dict[int, tuple[bool, bool]] = {}  # terminal: (starts, ends) with " "
        self.earley = EarleyGrammar(
            grammar, terminal_ids={n: i for i, n in enumerate(used)}, max_items=max_items
        )
        self.lexer = ProductLexer(self.terminals, max_states=max_lexer_states)
        with GROWTH_LOCK:  # (a vocabulary's trie is built once, for every engine)
            # special tokens the grammar names spell private bytes in the trie it walks
            named = special_token_ids(grammar.terminals.values())
            self.trie = build_trie(engine_vocabulary(vocab, named))
        self.walk_radius = int(self.trie.node_depth.max(initial=0)) + 1
        """Rows a trie walk may read: states fewer than this many bytes from its start."""
        self.num_words = bitmask_words(vocab.size)
        self.eos_ids = tuple(i for i in vocab.eos_ids if i < vocab.size)
        self.eos_words = bitmask_row(self.eos_ids, vocab.size)
        self._configs: dict[tuple, Config] = {}
        self._pending: dict[tuple[EarleySet, int], Thread | None] = {}
        self._walks: list[TrieWalk] = []
        self._walk_ids: dict[tuple[int, int, int], int] = {}
        # Child walks by what decides them (their start nodes, their lexer state): walks below
        # the same boundaries from the same state are one walk whichever parent found them
        # (python_expr: 10,332 child walks in 76 first-visit masks, 1,414 distinct).
        self._child_walks: dict[tuple[bytes, int], int] = {}
        # Reused by every walk (each result is read before the next walk): event arrays, and
        # zeroed token words for sparse (child) walks.
        self._event_buffers = (np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int32))
        self._sparse_words: np.ndarray | None = None
        self._take_scratch: tuple[np.ndarray, np.ndarray] | None = None  # (see _take_words)
        self._frontier = (np.empty(1024, dtype=np.int32), np.empty(1024, dtype=np.int32))
        self._lengths: np.ndarray | None = None  # token lengths, when a twin walk needs them
        self._completion_cache: dict[tuple[Thread, int], tuple[Thread, ...]] = {}  # (thread, group)
        self._masks: OrderedDict[Config, tuple[np.ndarray, bool]] = OrderedDict()
        self._mask_cache_size = mask_cache_size
        self.walk_events = 0
        """Distinct (trie node, lexer state) events recorded by all walks so far."""
        self.largest_mask_work = 0
        """The most (parser thread, trie walk) pairs one mask has visited (≤ max_mask_sets)."""
        with GROWTH_LOCK:  # (terminal automata are memoised for the whole process)
            if restore is not None:
                restore(self)
            if not lazy:
                self.terminals.build_all()
            start = self.earley.initial
            self.initial = self._config([self.pending(start, 0)], start.accepting)

    # -- the Automaton protocol --------------------------------------------------------------
    @property
    def num_states(self) -> int:
        """Product-lexer states discovered so far."""
        return self.lexer.num_states

    def matcher(self) -> GrammarMatcher:
        return GrammarMatcher(self)

    def stats(self) -> dict[str, Any]:
        """Rules, terminals, lexer states, tokens allowed at the start, trie walks and their
        events, the largest mask's work, memory."""
        with GROWTH_LOCK:
            return self._stats()

    def _stats(self) -> dict[str, Any]:
        words, _ = self.mask(self.initial)
        return {
            "rules": len(self.earley.rules) - 1,
            "terminals": len(self.terminal_names),
            "lexer_states": self.lexer.num_states,
            "allowed_tokens_at_start": int(np.unpackbits(words.view(np.uint8)).sum()),
            "trie_walks": len(self._walks),
            "walk_events": self.walk_events,
            "largest_mask_work": self.largest_mask_work,
            "vocab_size": self.vocab.size,
            "memory_bytes": self.memory_bytes(),
        }

    # -- configurations ----------------------------------------------------------------------
    def _bound_memory(self) -> None:
        """Forget the parser-side memo tables once their Earley sets hold more than
        ``max_cached_items`` items (~100 bytes each). Live matchers keep their configurations
        (plain objects); only sharing is lost, recomputed on demand. Walks (context-independent)
        are kept."""
        if self.earley.interned_items <= self.max_cached_items:
            return
        self.earley.forget()
        for config in self._configs.values():
            config._steps.clear()
        self._configs.clear()
        self._pending.clear()
        self._completion_cache.clear()
        for config in self._masks:
            config.mask = None
        self._masks.clear()
        self._pending_initial()

    def _pending_initial(self) -> None:
        # The initial configuration's threads stay canonical across forget().
        for thread in self.initial.threads:
            self._pending[(thread[1], thread[2])] = thread
        self._configs[(self.initial.threads, self.initial.final)] = self.initial

    def pending(self, earley_set: EarleySet, run: int) -> Thread | None:
        """The thread that starts new lexemes right after the parser reached ``earley_set``."""
        key = (earley_set, run)
        if key in self._pending:
            return self._pending[key]
        terminals = earley_set.expected
        if self.single_spaces and 0 < run <= self.max_ignore_run:  # right after ignored text
            terminals = frozenset(t for t in terminals if not self._space_edge(t)[0])
        if run < self.max_ignore_run:
            terminals = terminals | self.ignore_terminals
        state = self.lexer.start_state(frozenset(terminals))
        thread = None if state == DEAD else (state, earley_set, run)
        self._pending[key] = thread
        return thread

    def _config(self, threads: list, final: bool) -> Config | None:
        unique = tuple(sorted({t for t in threads if t is not None}, key=_thread_key))
        if not unique and not final:
            return None
        key = (unique, final)
        config = self._configs.get(key)
        if config is None:
            config = self._configs[key] = Config(unique, final)
        return config

    def _followers(
        self, thread: Thread, terminals: tuple[int, ...]
    ) -> tuple[list[tuple[EarleySet, int]], bool]:
        """(Earley set, ignore run) after a lexeme of ``thread`` completes each of ``terminals``;
        and whether the text is then a complete sentence."""
        _, earley_set, run = thread
        out: list[tuple[EarleySet, int]] = []
        final = False
        for terminal in terminals:
            if terminal in self.ignore_terminals:
                following, following_run = earley_set, run + 1
            else:
                following, following_run = self.earley.scan(earley_set, terminal), 0
                if self.single_spaces and self._space_edge(terminal)[1]:
                    following_run = self.max_ignore_run + 1  # no ignored text right after it
            final = final or following.accepting
            out.append((following, following_run))
        return out, final

    def _start(self, followers: list[tuple[EarleySet, int]]) -> list[Thread | None]:
        """The threads that start after lexemes ending at one position: their Earley sets are
        merged per ignore run (one chart per position), so ambiguous lexing never multiplies
        threads."""
        by_run: dict[int, list[EarleySet]] = {}
        for following, run in followers:
            by_run.setdefault(run, []).append(following)
        return [self.pending(self.earley.union(sets), run) for run, sets in by_run.items()]

    def _space_edge(self, terminal: int) -> tuple[bool, bool]:
        """Whether every string of ``terminal`` starts with a space, and whether every one ends
        with a space (``single_spaces``; a terminal that is not a plain DFA: neither)."""
        found = self._space_edges.get(terminal)
        if found is None:
            found = _space_edges(self.terminals[terminal])
            self._space_edges[terminal] = found
        return found

    def _ignores_one_space(self) -> bool:
        """Whether every ignored terminal matches exactly one space (what ``single_spaces``
        needs to never narrow into a dead end)."""
        for index in self.ignore_terminals:
            automaton = self.terminals[index]
            if not isinstance(automaton, ByteDFA) or automaton.accepting[0]:
                return False
            rows = automaton.transitions
            target = int(rows[0, 0x20])
            if np.flatnonzero(rows[0] >= 0).tolist() != [0x20] or not automaton.accepting[target]:
                return False
            if (rows[target] >= 0).any():
                return False
        return True

    def step(self, config: Config, byte: int) -> Config | None:
        """The configuration after one more byte (None: the byte is not allowed)."""
        cached = config._steps.get(byte, False)
        if cached is not False:
            return cached
        with GROWTH_LOCK:
            return self._step(config, byte)

    def _step(self, config: Config, byte: int) -> Config | None:
        cached = config._steps.get(byte, False)  # (another thread may have made it meanwhile)
        if cached is not False:
            return cached
        self._bound_memory()
        transitions, lexer = self.lexer.transitions, self.lexer
        threads: list[Thread | None] = []
        followers: list[tuple[EarleySet, int]] = []
        final = False
        for thread in config.threads:
            if transitions[thread[0], 0] == UNEXPLORED:
                lexer.ensure_row(thread[0])
                transitions = lexer.transitions
            state = int(transitions[thread[0], byte])
            if state < 0:
                continue
            if transitions[state, 0] == UNEXPLORED:
                lexer.ensure_row(state)
                transitions = lexer.transitions
            if (transitions[state] >= 0).any():
                threads.append((state, thread[1], thread[2]))
            if lexer.has_accepting[state]:
                ended, completes = self._followers(thread, lexer.accepting_terminals[state])
                followers.extend(ended)
                final = final or completes
        if followers:
            threads.extend(self._start(followers))
        result = self._config(threads, final)
        config._steps[byte] = result
        return result

    def step_bytes(self, config: Config | None, data: bytes) -> Config | None:
        for byte in data:
            if config is None:
                return None
            config = self.step(config, byte)
        return config

    def live_bytes(self, config: Config) -> np.ndarray:
        live = np.zeros(256, dtype=bool)
        with GROWTH_LOCK:
            for thread in config.threads:
                self.lexer.ensure_row(thread[0])
                live |= self.lexer.transitions[thread[0]] >= 0
        return live

    # -- ahead-of-time work ------------------------------------------------------------------
    def precompute(self, *, max_sets: int = 256, max_items: int = 100_000) -> None:
        """Do the context-independent work ahead of time: discover parser states breadth-first
        (up to ``max_sets`` Earley sets, or until closures have built ``max_items`` items: very
        ambiguous grammars grow sets with the input, and their later sets are better built on
        demand) and
        the lexer states they start, then walk the trie
        once from every lexer state. Walks below lexeme boundaries stay lazy (they are small);
        anything not reached here is computed on first use."""
        with GROWTH_LOCK:
            self._precompute(max_sets, max_items)

    def _precompute(self, max_sets: int, max_items: int) -> None:
        seen = [self.earley.initial]
        known = {self.earley.initial}
        budget = self.earley.items_built + max_items
        position = 0
        while position < len(seen):
            earley_set = seen[position]
            position += 1
            for run in range(self.max_ignore_run + 1 + self.single_spaces):
                self.pending(earley_set, run)
            for terminal in sorted(earley_set.expected):
                following = self.earley.scan(earley_set, terminal)
                if (
                    following not in known
                    and len(seen) < max_sets
                    and self.earley.items_built < budget
                ):
                    known.add(following)
                    seen.append(following)
        for state in list(self.lexer._starts.values()):
            if state >= 0:  # (a lazy terminal's automaton only as far as a token reaches)
                lazy = any(
                    not isinstance(self.terminals[t], ByteDFA) for t, _ in self.lexer.members[state]
                )
                if lazy:
                    self.lexer.explore_around(state, self.walk_radius)
                else:
                    self.lexer.explore(state)
        for state in range(self.lexer.num_states):
            self._root_walk_id(state)

    # -- masks -------------------------------------------------------------------------------
    def mask(self, config: Config) -> tuple[np.ndarray, bool]:
        """(bitmask words, whether every token is allowed) for ``config``; memoised."""
        cached = config.mask
        if cached is not None:  # (dropped by another thread meanwhile: still a valid mask)
            config.recent = True
            return cached
        with GROWTH_LOCK:
            cached = config.mask
            return cached if cached is not None else self._build_mask(config)

    def _build_mask(self, config: Config) -> tuple[np.ndarray, bool]:
        self._bound_memory()
        budget = self.earley.sets_made + self.max_mask_sets
        words = np.zeros(self.num_words, dtype=np.int32)
        stack = [(thread, self._root_walk_id(thread[0])) for thread in config.threads]
        seen = set(stack)
        walks = self._walks
        or_words = or_words_kernel()
        while stack:
            thread, walk_id = stack.pop()
            walk = walks[walk_id]
            if walk.dense is not None:
                words |= walk.dense
            elif len(walk.word_index):
                if or_words is None:
                    words[walk.word_index] |= walk.word_bits
                else:
                    or_words(words, walk.word_index, walk.word_bits)
            if self.earley.sets_made > budget or len(seen) > self.max_mask_sets:
                raise LimitExceededError(
                    "the number of parser states built for one token mask",
                    self.max_mask_sets,
                    hint="lexemes inside a token can be split many ambiguous ways here; "
                    "raise max_mask_sets or make the grammar's terminals less ambiguous",
                )
            for group in walk.event_groups:
                for following in self._completed_threads(thread, group):
                    child = (following, self._child_walk_id(walk_id, group, following[0]))
                    if child not in seen:
                        seen.add(child)
                        stack.append(child)
        self.largest_mask_work = max(self.largest_mask_work, len(seen))
        if config.final:
            words |= self.eos_words
        result = (words, bool((words == -1).all()))
        self._masks[config] = result
        config.mask = result
        if len(self._masks) > self._mask_cache_size:
            self._evict_mask()
        return result

    def _evict_mask(self) -> None:
        """Forget the oldest mask not read since it was last looked at (a mask read since is
        moved to the back, unmarked: a second chance)."""
        masks = self._masks
        while True:
            config, result = masks.popitem(last=False)
            if not config.recent:
                config.mask = None
                return
            config.recent = False
            masks[config] = result

    def _completed_threads(self, thread: Thread, group: int) -> tuple[Thread, ...]:
        """Threads after a lexeme of ``thread`` completes the terminals of accepting ``group``."""
        key = (thread, group)
        cached = self._completion_cache.get(key)
        if cached is None:
            followers, _ = self._followers(thread, self.lexer.accepting_sets[group])
            started = self._start(followers)
            cached = self._completion_cache[key] = tuple(t for t in started if t is not None)
        return cached

    def _root_walk_id(self, lexer_state: int) -> int:
        key = (-1, -1, lexer_state)
        walk_id = self._walk_ids.get(key)
        if walk_id is not None:
            return walk_id
        members = self.lexer.members[lexer_state]
        if len(members) != 1 or members[0][0] >= self.num_real_terminals:
            return self._new_walk(key, np.array([0], dtype=np.int32), dense=True)
        # One lexeme of one terminal in progress: the walk depends only on that terminal's
        # automaton and state, so every engine of this process sharing the automaton (the
        # terminals are memoised by regex text: strings, numbers, keys) shares the walk.
        terminal, state = members[0]
        automaton = self.terminals[terminal]
        twin = self._twin_of(automaton, state)
        if twin is not None:  # a bounded string far from its bounds walks like the unbounded one
            twin_automaton, twin_state, slack = twin
            words, nodes, reach = self._twin_walk(twin_automaton, twin_state)
            if reach <= slack:
                return self._install_walk(key, terminal, words, nodes)
        owner, shared_key = _walk_owner(automaton, state, self.trie)
        found = _shared_walk(shared_key, owner, self.trie)
        if found is not None:
            return self._install_walk(key, terminal, *found)
        if twin is not None:
            clipped = self._clipped_twin_walk(automaton, state, words, nodes, slack)
            if clipped is not None:
                _share_walk(shared_key, owner, self.trie, *clipped)
                return self._install_walk(key, terminal, *clipped)
        walk_id = self._new_walk(key, np.array([0], dtype=np.int32), dense=True)
        walk = self._walks[walk_id]
        nodes = np.concatenate([np.zeros(0, dtype=np.int32), *walk.event_nodes.values()])
        _share_walk(shared_key, owner, self.trie, walk.dense, nodes)
        return walk_id

    def _twin_of(self, automaton: Any, state: int) -> tuple[Any, int, int] | None:
        """(twin automaton, state, slack): the root walk from ``state`` of ``automaton`` is the
        twin's when the twin's reaches no deeper than ``slack`` bytes (see
        ``JsonStringAutomaton.free_twin``); None when there is no twin."""
        free_twin = getattr(automaton, "free_twin", None)
        return None if free_twin is None else free_twin(state)

    def _token_lengths(self) -> np.ndarray:
        """Each token's length in bytes (its trie node's depth; 0 for tokens not in the trie)."""
        if self._lengths is None:
            trie = self.trie
            lengths = np.zeros(self.num_words * 32, dtype=np.int32)
            counts = np.diff(trie.token_ptr)
            lengths[trie.token_ids] = np.repeat(trie.node_depth, counts)
            self._lengths = lengths
        return self._lengths

    def _install_walk(
        self, key: tuple[int, int, int], terminal: int, words: np.ndarray, nodes: np.ndarray
    ) -> int:
        """A one-terminal root walk known as (tokens, boundary nodes) cached as ``key``."""
        group = self.lexer.group_of((terminal,))
        walk = TrieWalk(words, None, None, {group: nodes} if len(nodes) else {})
        walk_id = len(self._walks)
        self._walks.append(walk)
        self._walk_ids[key] = walk_id
        return walk_id

    def _twin_walk(self, automaton: Any, state: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(tokens, boundary nodes, reach) of the root walk from ``state`` of ``automaton``, a
        terminal automaton that is not this engine's (a bounded string's unbounded twin): walked
        over a lexer of that one terminal, kept per process, and shared like every one-terminal
        walk. ``reach``: the depth of its deepest allowed token or boundary, in bytes."""
        shared_key = (id(automaton), state, id(self.trie))
        found = _shared_walk(shared_key, automaton, self.trie)
        reach = _twin_reach.get(shared_key)
        if found is not None and reach:
            return found[0], found[1], reach[0]
        lexer = _twin_lexers.get(automaton)
        if lexer is None:
            lexer = _twin_lexers[automaton] = ProductLexer([automaton])
        words = np.zeros(self.num_words, dtype=np.int32)
        event_nodes, _ = self._walk(
            words, lexer.state_of(0, state), np.array([0], dtype=np.int32), lexer
        )
        nodes = distinct(event_nodes)
        _share_walk(shared_key, automaton, self.trie, words, nodes)
        lengths = self._token_lengths()
        allowed = np.flatnonzero(
            np.unpackbits(words.view(np.uint8), bitorder="little")[: len(lengths)]
        )
        depth = int(lengths[allowed].max(initial=0))
        reach = max(depth, int(self.trie.node_depth[nodes].max(initial=0)))
        _twin_reach[shared_key] = (reach,)
        if len(_twin_reach) > SHARED_WALKS:
            _twin_reach.pop(next(iter(_twin_reach)))
        return words, nodes, reach

    def _clipped_twin_walk(
        self, automaton: Any, state: int, words: np.ndarray, nodes: np.ndarray, slack: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The root walk from ``state`` of a bounded string whose twin's walk (``words``,
        boundary ``nodes``) reaches deeper than ``slack`` bytes: the twin's answer stands for
        every token and boundary within ``slack`` bytes; the few deeper ones (long tokens:
        runs of dashes, spaces) are read one by one (``JsonStringAutomaton.twin_follower``,
        sharing common prefixes). None when there are more than ``_CLIPPED_PATHS`` of them."""
        trie = self.trie
        lengths = self._token_lengths()
        deep = np.flatnonzero(lengths > slack)
        deep = deep[(words[deep >> 5] >> (deep & 31)) & 1 == 1]
        deep_nodes = nodes[trie.node_depth[nodes] > slack]
        if len(deep) + len(deep_nodes) > _CLIPPED_PATHS:
            return None
        follower = automaton.twin_follower(state)
        if follower is None:
            return None
        token_bytes = trie.token_bytes
        first_token = trie.token_ids[trie.token_ptr[deep_nodes]].tolist()
        depths = trie.node_depth[deep_nodes].tolist()
        paths = [token_bytes[t] for t in deep.tolist()]
        paths += [token_bytes[t][:d] for t, d in zip(first_token, depths)]
        ends = follower.follow(paths)
        words = words.copy()
        refused = deep[np.array([end is None for end in ends[: len(deep)]], dtype=bool)]
        if len(refused):
            bits = np.left_shift(np.uint32(1), (refused & 31).astype(np.uint32))
            np.bitwise_and.at(words.view(np.uint32), refused >> 5, ~bits)
        if len(deep_nodes):
            keep = trie.node_depth[nodes] <= slack
            keep[~keep] = [end is not None and follower.accepts(end) for end in ends[len(deep) :]]
            nodes = nodes[keep]
        return words, nodes

    def _child_walk_id(self, parent: int, group: int, lexer_state: int) -> int:
        key = (parent, group, lexer_state)
        walk_id = self._walk_ids.get(key)
        if walk_id is None:
            nodes = self._walks[parent].event_nodes[group]
            content = (walk_start_key(nodes), lexer_state)
            walk_id = self._child_walks.get(content)
            if walk_id is None:
                walk_id = self._child_walks[content] = self._new_walk(key, nodes, dense=False)
            else:  # another parent's boundaries, the same walk: an alias
                self._walk_ids[key] = walk_id
        return walk_id

    def _new_walk(self, key: tuple[int, int, int], nodes: np.ndarray, *, dense: bool) -> int:
        """Walk the trie below ``nodes`` from lexer state ``key[2]``; walks are cached."""
        reference = self._reference_for(key[2]) if key[0] < 0 else None
        if reference is not None:
            words, grouped = self._difference_walk(key[2], reference)
        elif dense:
            words = np.zeros(self.num_words, dtype=np.int32)
            event_nodes, event_states = self._walk(words, key[2], nodes)
            grouped = self._group_events(event_nodes, event_states)
        else:  # a child walk reaches few tokens: kept sparse, walked into zeroed scratch words
            words = self._sparse_words
            if words is None:
                words = self._sparse_words = np.zeros(self.num_words, dtype=np.int32)
            try:
                event_nodes, event_states = self._walk(words, key[2], nodes)
                grouped = self._group_events(event_nodes, event_states)
            finally:
                index, bits = self._take_words(words)
        if dense:
            walk = TrieWalk(words, None, None, grouped)
        else:
            walk = TrieWalk(None, index, bits, grouped)
        walk_id = len(self._walks)
        self._walks.append(walk)
        self._walk_ids[key] = walk_id
        return walk_id

    def _take_words(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nonzero words of the scratch ``words`` as (positions, values), zeroed after."""
        if numba_walk_ready():
            # numba is loaded already (numba_walk_ready): importing its kernels costs nothing.
            from structgen.kernels.numba_cpu import take_words

            scratch = self._take_scratch
            if scratch is None:
                scratch = self._take_scratch = (np.empty_like(words), np.empty_like(words))
            count = take_words(words, *scratch)
            return scratch[0][:count].copy(), scratch[1][:count].copy()
        index = np.flatnonzero(words).astype(np.int32)
        bits = words[index]
        words[index] = 0
        return index, bits

    def _group_events(
        self, event_nodes: np.ndarray, event_states: np.ndarray
    ) -> dict[int, np.ndarray]:
        """Boundaries grouped by the terminals they complete: that is all the parser sees. A
        node is kept once per group (several lexer states there may complete the same
        terminals), so a child walk starts from distinct nodes."""
        grouped: dict[int, np.ndarray] = {}
        if 0 < len(event_nodes) <= 32:  # (numpy's per-call cost dominates few events)
            buckets: dict[int, set[int]] = {}
            groups = self.lexer.accepting_group[event_states].tolist()
            for node, group in zip(event_nodes.tolist(), groups):
                buckets.setdefault(group, set()).add(node)
            for group in sorted(buckets):
                grouped[group] = np.array(sorted(buckets[group]), dtype=np.int32)
        elif len(event_nodes):
            event_groups = self.lexer.accepting_group[event_states]
            if not (event_nodes[1:] >= event_nodes[:-1]).all():  # walks write them in preorder
                order = np.argsort(event_nodes, kind="stable")
                event_nodes, event_groups = event_nodes[order], event_groups[order]
            for group in np.flatnonzero(np.bincount(event_groups)).tolist():
                nodes = event_nodes[event_groups == group]
                grouped[group] = nodes[np.r_[True, nodes[1:] != nodes[:-1]]]
        self.walk_events += len(event_nodes)
        return grouped

    def _reference_for(self, state: int) -> int | None:
        """A lexer state whose root walk the root walk from ``state`` is best computed against
        (:meth:`_difference_walk`), or None for a plain walk. The reference is the state most
        bytes lead to from ``state`` when that state mostly loops on itself — inside a string,
        a key that may be any string, a number: the walks then meet one byte down on most of
        the trie. Only with numba loaded (the difference walk is a numba kernel)."""
        if not numba_walk_ready():
            return None
        # numba is loaded already (numba_walk_ready): importing its kernels costs nothing.
        from structgen.kernels.numba_cpu import majority_state

        lexer = self.lexer
        lexer.ensure_row(state)
        target = majority_state(lexer.transitions[state], _MAJORITY)
        if target < 0 or target == state:
            return None
        lexer.ensure_row(target)
        if majority_state(lexer.transitions[target], _MAJORITY) != target:
            return None
        return target

    def _difference_walk(self, state: int, reference: int) -> tuple[np.ndarray, dict]:
        """The root walk from ``state`` (tokens, grouped boundaries) computed from the root walk
        from ``reference``: the trie is visited only where the two walks differ."""
        # numba is loaded already (_reference_for checked): importing its kernels costs nothing.
        from structgen.kernels.numba_cpu import walk_trie_difference

        base = self._walks[self._root_walk_id(reference)]
        trie, lexer = self.trie, self.lexer
        words = base.dense.copy()
        missing = np.empty(1024, dtype=np.int32)
        frontier = np.empty(3 * 256, dtype=np.int32)
        counts = np.zeros(3, dtype=np.int64)
        self._events(min(len(trie.node_byte), self.max_walk_events))
        same_roots = np.empty(len(trie.node_byte), dtype=np.int32)
        seen = np.zeros(lexer.transitions.shape[0], dtype=np.bool_)
        entries = (
            np.zeros(1, dtype=np.int32),
            np.array([state], dtype=np.int32),
            np.array([reference], dtype=np.int32),
        )
        count = 0
        while True:
            event_node, event_state = self._event_buffers
            skipped = int(counts[1])
            result = walk_trie_difference(
                lexer.transitions, lexer.has_accepting, *entries,
                trie.node_byte, trie.node_depth, trie.subtree_end, trie.token_ptr,
                trie.token_ids, words, event_node, event_state, count, same_roots,
                UNEXPLORED, seen, missing, frontier, counts, self.walk_radius + 1,
            )  # fmt: skip
            waiting = int(counts[2])
            if result < 0 or 3 * waiting > len(frontier):
                # Arrays too small: this round again with larger ones (it rewrites the same
                # bits, events and skipped roots).
                if result < 0:
                    self._grow_events(count, self._more_events(len(event_node)))
                else:
                    frontier = np.empty(6 * waiting, dtype=np.int32)
                seen[:] = False
                counts[1] = skipped
                continue
            count = result
            if not waiting:
                break
            listed = int(counts[0])
            _fill_missing_rows(lexer, missing, listed)
            if listed > len(missing) or len(seen) < lexer.transitions.shape[0]:
                # (states past ``missing``'s end are found again; the lexer grew)
                seen = np.zeros(lexer.transitions.shape[0], dtype=np.bool_)
            triples = frontier[: 3 * waiting].reshape(-1, 3)
            entries = (triples[:, 0].copy(), triples[:, 1].copy(), triples[:, 2].copy())
        event_node, event_state = self._event_buffers
        grouped = self._group_events(event_node[:count], event_state[:count])
        roots = np.sort(same_roots[: int(counts[1])])  # (rounds after the first: out of order)
        ends = trie.subtree_end[roots]
        for group, nodes in base.event_nodes.items() if len(roots) else ():
            # The reference's boundaries count where the walks met (inside those subtrees).
            position = np.searchsorted(roots, nodes, side="right") - 1
            inside = (position >= 0) & (nodes < ends[np.maximum(position, 0)])
            kept = nodes[inside]
            if len(kept):
                own = grouped.get(group)
                grouped[group] = kept if own is None else np.union1d(own, kept)
        return words, grouped

    def _walk(
        self, words: np.ndarray, state: int, nodes: np.ndarray, lexer: ProductLexer | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distinct ``(node, lexer state)`` events of one trie walk (see ``walk_trie_events``).

        Lexer rows are filled only where the walk goes: with numba loaded, the walk stops
        where a row is missing, the row is filled and the walk resumes there
        (:meth:`_resumable_walk`); before, a bounded ball of rows around ``state``, else a numpy
        pass over the trie one depth at a time. The event arrays start
        at the number of nodes below ``nodes`` (one event per node is the common case) and grow
        up to ``max_walk_events``; past it, a LimitExceededError. ``lexer`` is this engine's
        unless given (a twin's, see :meth:`_twin_walk`)."""
        trie = self.trie
        lexer = self.lexer if lexer is None else lexer
        root = len(nodes) == 1 and nodes[0] == 0
        # A finished root walk from ``state`` filled the rows every token prefix reads; a
        # child walk reads token suffixes, which may need others.
        numba_ready = numba_walk_ready()
        if (
            not numba_ready
            and lexer.ready[state] < self.walk_radius
            and not (root and state in lexer.walked)
            # Without numba, most states (inside a string, a number) reach few others: fill
            # them all. Only where that would be many rows (a key set, a long counted
            # product) follow the trie in numpy instead.
            and not lexer.explore_around(state, self.walk_radius, max_rows=_BALL_ROWS)
        ):
            self._explore_with_numpy(lexer, state, nodes)
        if numba_ready:
            # numba is loaded already (numba_walk_ready): importing its kernels costs nothing.
            # The resumable kernel serves walks over filled rows too (then in one call).
            from structgen.kernels.numba_cpu import walk_trie_events_lazy

            count = self._resumable_walk(walk_trie_events_lazy, lexer, words, state, nodes)
        else:
            event_node, _ = self._events(min(len(trie.node_byte), self.max_walk_events))
            while True:
                event_node, event_state = self._event_buffers
                count = walk_trie_events(
                    lexer.transitions, lexer.has_accepting, state, nodes,
                    trie.node_byte, trie.node_depth, trie.subtree_end, trie.token_ptr,
                    trie.token_ids, words, event_node, event_state,
                )  # fmt: skip
                if count >= 0:
                    break
                self._events(self._more_events(len(event_node)))
        if root:
            lexer.walked.add(state)
        event_node, event_state = self._event_buffers
        return event_node[:count], event_state[:count]

    def _resumable_walk(
        self,
        lazy_walk: Callable[..., int],
        lexer: ProductLexer,
        words: np.ndarray,
        state: int,
        nodes: np.ndarray,
    ) -> int:
        """The walk from ``state`` below ``nodes`` over a lexer whose rows may be missing: each
        sub-walk stops at the (node, state) pairs whose row is missing (its *frontier*); their
        rows are filled and the walk resumes below those nodes from those states, so every
        part of the trie is walked once however many rows were missing. Events accumulate in
        the reused event arrays; returns their number."""
        trie = self.trie
        self._events(min(len(trie.node_byte), self.max_walk_events))
        frontier_count = np.zeros(1, dtype=np.int64)
        frontier_node, frontier_state = self._frontier
        count = 0
        pending = [(state, nodes)]
        while pending:
            start, starts = pending.pop()
            event_node, event_state = self._event_buffers
            result = lazy_walk(
                lexer.transitions, lexer.has_accepting, start, starts,
                trie.node_byte, trie.node_depth, trie.subtree_end, trie.token_ptr,
                trie.token_ids, words, event_node, event_state, count,
                UNEXPLORED, frontier_node, frontier_state, frontier_count,
                self.walk_radius + 1,
            )  # fmt: skip
            found = int(frontier_count[0])
            if result < 0 or found > len(frontier_node):
                # Arrays too small: grow them and walk this part again (the words it set
                # stay set; its events and frontier are written anew).
                if result < 0:
                    self._grow_events(count, self._more_events(len(event_node)))
                else:
                    frontier_node = np.empty(2 * found, dtype=np.int32)
                    frontier_state = np.empty(2 * found, dtype=np.int32)
                    self._frontier = (frontier_node, frontier_state)
                pending.append((start, starts))
                continue
            count = result
            if not found:
                continue
            # One walk visits a node once, in preorder: per state, its frontier nodes come
            # sorted and distinct.
            at_nodes, of_states = frontier_node[:found].copy(), frontier_state[:found].copy()
            missing = (
                distinct(of_states)
                if found > 32
                else np.array(sorted(set(of_states.tolist())), dtype=np.int32)
            )
            _fill_missing_rows(lexer, missing, len(missing))
            ending = lexer.has_accepting[of_states]
            if ending.any():  # lexemes that may end at a frontier node: the walk left them
                extra = int(ending.sum())
                if count + extra > len(self._event_buffers[0]):
                    self._grow_events(count, self._more_events(count + extra))
                event_node, event_state = self._event_buffers
                event_node[count : count + extra] = at_nodes[ending]
                event_state[count : count + extra] = of_states[ending]
                count += extra
            if len(missing) == 1:
                pending.append((int(missing[0]), at_nodes))
                continue
            for missing_state in missing.tolist():
                pending.append((missing_state, at_nodes[of_states == missing_state]))
        return count

    def _grow_events(self, keep: int, capacity: int) -> None:
        """Replace the event arrays by ones of ``capacity`` (at least), keeping the first
        ``keep`` events."""
        nodes, states = self._event_buffers
        size = max(capacity, keep + 1)
        grown = (np.empty(size, dtype=np.int32), np.empty(size, dtype=np.int32))
        grown[0][:keep], grown[1][:keep] = nodes[:keep], states[:keep]
        self._event_buffers = grown

    def _events(self, capacity: int) -> tuple[np.ndarray, np.ndarray]:
        """The reused event arrays, grown to hold at least ``capacity`` events (at least one).
        What a walk returns are views of them: read them before the next walk."""
        nodes, states = self._event_buffers
        if len(nodes) < capacity:
            size = max(1, capacity)
            nodes, states = np.empty(size, dtype=np.int32), np.empty(size, dtype=np.int32)
            self._event_buffers = (nodes, states)
        return nodes, states

    def _more_events(self, capacity: int) -> int:
        """The next size of a walk's event arrays, up to ``max_walk_events`` (then an error)."""
        if capacity >= self.max_walk_events:
            raise LimitExceededError(
                "the number of lexeme boundaries inside tokens in one trie walk",
                self.max_walk_events,
                hint="many terminals can end at the same trie nodes; raise max_walk_events "
                "or make the grammar's terminals less ambiguous",
            )
        return min(capacity * 4, self.max_walk_events)

    def _explore_with_numpy(self, lexer: ProductLexer, state: int, nodes: np.ndarray) -> None:
        """The same, one trie depth at a time in numpy (before numba is loaded)."""
        levels = trie_levels(
            self.trie.node_byte, self.trie.node_depth, self.trie.subtree_end, self.trie.token_ptr
        )
        positions = levels.position[np.asarray(nodes, dtype=np.int64)]
        states = np.full(len(positions), state, dtype=np.int64)
        while len(positions):
            inner = levels.inner[positions]
            positions, states = positions[inner], states[inner]
            if not len(positions):
                break
            seen = distinct(states)
            for missing in seen[lexer.transitions[seen, 0] == UNEXPLORED].tolist():
                lexer.ensure_row(missing)
            low, high = levels.child_lo[positions], levels.child_hi[positions]
            counts = high - low
            ends = np.cumsum(counts)
            children = np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(
                low - ends + counts, counts
            )
            targets = lexer.transitions[np.repeat(states, counts), levels.byte[children]]
            alive = targets >= 0
            pairs = distinct(children[alive] * lexer.max_states + targets[alive])
            positions, states = np.divmod(pairs, lexer.max_states)

    def memory_bytes(self) -> int:
        lexer = self.lexer
        masks = sum(words.nbytes for words, _ in self._masks.values())
        walks = sum(walk.nbytes() for walk in self._walks)
        return int(lexer.transitions.nbytes + masks + walks)


class TrieWalk:
    """A cached trie walk: allowed tokens (dense words, or sparse word index + bits) and the
    trie nodes where a lexeme may end, grouped by the terminals that end there."""

    __slots__ = ("dense", "word_index", "word_bits", "event_nodes", "event_groups")

    def __init__(self, dense, word_index, word_bits, event_nodes: dict[int, np.ndarray]) -> None:
        self.dense = dense
        self.word_index = word_index
        self.word_bits = word_bits
        self.event_nodes = event_nodes
        self.event_groups = tuple(event_nodes)

    def nbytes(self) -> int:
        arrays = [self.dense, self.word_index, self.word_bits, *self.event_nodes.values()]
        return sum(a.nbytes for a in arrays if a is not None)


def _walk_owner(automaton: Any, state: int, trie: Any) -> tuple[Any, tuple]:
    """(owner, key) of the shared root walk from ``state`` of a terminal ``automaton``: for a
    concatenation the parts its future reads (see ``ConcatAutomaton.future``), for a DFA state
    with few reachable states the digest of that future (``ByteDFA.future_digest``), else the
    automaton and the state — so that states of different terminals with the same future share
    one walk. The key holds ids; the entry keeps the owner alive, so they stay its."""
    future = getattr(automaton, "future", None)
    if future is not None:
        parts, members = future(state)
        return parts, (tuple(map(id, parts)), members, id(trie))
    future_digest = getattr(automaton, "future_digest", None)
    digest = None if future_digest is None else future_digest(state)
    if digest is not None:  # a DFA state with a small future: shared by what it accepts
        return digest, (digest, id(trie))
    return automaton, (id(automaton), state, id(trie))


def _shared_walk(key: tuple, owner: Any, trie: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(tokens, boundary nodes) of the shared walk ``key`` names, if it is still kept and was
    made for this very owner (an automaton, or a tuple of parts) and trie (ids are reused once
    objects are gone)."""
    found = _shared_walks.get(key)
    if found is None or found[1] is not trie or not _same_owner(found[0], owner):
        return None
    _shared_walks.move_to_end(key)
    return found[2], found[3]


def _same_owner(kept: Any, owner: Any) -> bool:
    if isinstance(owner, bytes):
        return kept == owner
    if isinstance(owner, tuple):
        return (
            isinstance(kept, tuple)
            and len(kept) == len(owner)
            and all(a is b for a, b in zip(kept, owner))
        )
    return kept is owner


def _fill_missing_rows(lexer: ProductLexer, missing: np.ndarray, count: int) -> None:
    """Fill the rows a walk reported missing (``count`` of them, at most ``missing``'s length
    written). Only those: rows filled ahead "just in case" (a ball of a few bytes around each)
    cost more than the extra rounds they save, now that a round walks only new ground."""
    for state in missing[: min(count, len(missing))].tolist():
        lexer.ensure_row(state)


def _share_walk(
    key: tuple, automaton: Any, trie: Any, words: np.ndarray, nodes: np.ndarray
) -> None:
    _shared_walks[key] = (automaton, trie, words, nodes)
    if len(_shared_walks) > SHARED_WALKS:
        _shared_walks.popitem(last=False)


def _space_edges(automaton: Any) -> tuple[bool, bool]:
    """(every string starts with a space, every string ends with one) of a terminal automaton;
    (False, False) for one that is not a plain DFA."""
    if not isinstance(automaton, ByteDFA) or automaton.accepting[0]:
        return False, False
    rows, accepting = automaton.transitions, automaton.accepting
    starts = np.flatnonzero(rows[0] >= 0).tolist() == [0x20]
    into_accepting = (rows >= 0) & accepting[np.maximum(rows, 0)]
    ends = np.flatnonzero(into_accepting.any(axis=0)).tolist() == [0x20]
    return starts, ends


def _thread_key(thread: Thread) -> tuple[int, int, int]:
    return (thread[0], id(thread[1]), thread[2])


def _symbols_read(grammar: Grammar) -> set[str]:
    """The terminals (and nonterminals) the rules' right-hand sides name; the terminals alone
    from the grammar's numbered rules when it has them (a large schema grammar)."""
    lazily = set().union(*(source.uses() for source in grammar.lazy))
    numbered = grammar.arrays
    if numbered is None or numbered.rules is not grammar.rules:
        return lazily.union(*(rule.rhs for rule in grammar.rules))
    codes = np.unique(numbered.rhs[numbered.rhs < numbered.num_terminals])
    return lazily | {numbered.symbols[code] for code in codes.tolist()}


def walk_start_key(nodes: np.ndarray) -> bytes:
    """What identifies a child walk's start nodes: their bytes, or past 64 nodes a 128-bit
    digest of the bytes and their count."""
    data = np.ascontiguousarray(nodes, dtype=np.int32).tobytes()
    if len(data) <= 256:
        return data
    digest = hashlib.blake2b(data, digest_size=16, person=b"trie-nodes").digest()
    return digest + len(data).to_bytes(8, "little")
