"""The product lexer: one DFA whose states are sets of ``(terminal, terminal-DFA state)``.

Every lexeme that may be in progress at a byte position is tracked at once, so lexer
ambiguity (a prefix that could still be several terminals) is exact. States are discovered
lazily, from the terminal sets the parser predicts, and their rows only as far as use needs
(except a terminal's one-member states when its automaton is a small table: all its rows at
once, see :meth:`ProductLexer._fill_block`):
:meth:`ProductLexer.explore_around` fills every row within a given number of bytes of a state
(a trie walk reads at most the longest token's bytes), :meth:`ProductLexer.ensure_row` one row
(a byte step). A row not filled yet holds ``UNEXPLORED``; nothing reads it (the walks and steps
ask first), so a terminal with a huge or unbounded automaton costs only what decoding touches.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import repeat

import numpy as np

from structgen.errors import LimitExceededError
from structgen.kernels.trie_walk import column_classes, product_row_kernels, renumber_rows
from structgen.regex.dfa import DEAD, ByteAutomaton, ByteDFA, StateMap

_GROWTH = 256
UNEXPLORED = -3  # the row of a state whose transitions are not computed yet
MAX_BLOCK_STATES = 2048
"""A terminal table up to this many states has all its one-member rows filled at once (a
counted string body — ``maxLength`` 64 with every JSON escape — has ~1,300: filled row by row,
each first visit cost a gather and a renumbering; as a block, one kernel call)."""
MAX_BLOCKED_STATES = 65_536
"""How many states a lexer takes in blocks beyond :data:`SMALL_BLOCK_STATES`-state tables (16
MB of rows): past it, large tables are filled row by row (only the rows a walk reads)."""
SMALL_BLOCK_STATES = 256
"""Tables up to this size are always taken as blocks."""
LAZY_REGION_STATES = 256
"""The least room a lazy automaton's one-member ids get in the table the numba rows read."""
RESERVE_PAST_STATES = 4096
"""A row table that outgrows this many states (4 MB) moves once into a reservation (see
:func:`_reserve_rows`): past it, growing copies nothing."""
RESERVED_STATES = 1 << 18
"""The most rows one reservation holds (256 MB of address space; memory is used only as rows
are written). A lexer allowed more states copies its table when it outgrows the reservation."""


@contextmanager
def _small_pages() -> Iterator[None]:
    """Large arrays allocated inside get ordinary pages, not the huge pages numpy asks the
    kernel for. A grown row table (32 MB past 32k states) is copied into at once, inside the
    mask that needed the new row: where the kernel compacts memory to find huge pages on
    those first touches (transparent huge pages with ``defrag=madvise``), that copy took
    ~100 ms (o80235's slowest mask, 128 → 24 ms with ordinary pages). Without numpy's private
    switch, nothing changes."""
    switch = _hugepage_switch()
    if switch is None:
        yield
        return
    before = switch(False)
    try:
        yield
    finally:
        switch(before)


_NO_RESERVATION = np.empty((0, 256), dtype=np.int32)


def _reserve_rows(rows: int) -> np.ndarray | None:
    """A ``rows`` x 256 int32 table in address space reserved at once and backed by memory
    page by page as rows are written (an anonymous mapping), or None where none can be had.
    Doubling a 32 MB table by copy stalled the mask that needed the new row ~20 ms (4 KB page
    faults of the copy); growing inside a reservation is a new view of it. Huge pages are
    declined (their first touch may wait on memory compaction, see :func:`_small_pages`)."""
    import mmap

    try:
        buffer = mmap.mmap(-1, rows * 256 * 4)
    except (OSError, ValueError, OverflowError):
        return None
    advise = getattr(buffer, "madvise", None)
    no_huge_pages = getattr(mmap, "MADV_NOHUGEPAGE", None)
    if advise is not None and no_huge_pages is not None:
        try:
            advise(no_huge_pages)
        except OSError:  # (the kernel may not know the advice: huge pages as it decides)
            pass
    return np.frombuffer(buffer, dtype=np.int32).reshape(rows, 256)


def _hugepage_switch():
    """numpy's ``_set_madvise_hugepage`` (sets the flag, returns the old one), if it has one."""
    try:
        from numpy._core import multiarray
    except ImportError:  # (numpy 1.x keeps it in numpy.core: its huge pages are left alone)
        return None
    return getattr(multiarray, "_set_madvise_hugepage", None)


class ProductLexer:
    def __init__(self, terminal_dfas: list[ByteAutomaton], *, max_states: int = 200_000) -> None:
        self.dfas = terminal_dfas
        self.max_states = max_states
        self._ids: dict[frozenset, int] = {}
        self.members: list[tuple[tuple[int, int], ...]] = []
        self.accepting_terminals: list[tuple[int, ...]] = []
        # Lexer states that complete the same terminals behave alike at a lexeme boundary:
        # ``accepting_group[state]`` numbers those sets (``accepting_sets[group]``).
        self.accepting_group = np.full(_GROWTH, -1, dtype=np.int32)
        self.accepting_sets: list[tuple[int, ...]] = []
        self._group_ids: dict[tuple[int, ...], int] = {}
        self.transitions = np.full((_GROWTH, 256), DEAD, dtype=np.int32)
        self.has_accepting = np.zeros(_GROWTH, dtype=np.bool_)
        self.ready = np.zeros(_GROWTH, dtype=np.int32)
        """``ready[s] = r``: every state less than ``r`` bytes from ``s`` has its row."""
        self._starts: dict[frozenset[int], int] = {}
        # _singles[t]: terminal t's states as the lexer states {(t, q)}, for one-member rows.
        self._singles: dict[int, StateMap] = {}
        # _blocks[t]: the ids of every state of terminal t's table (see _fill_block), and
        # _single_ids[t] the one-member states of t numbered one by one before.
        self._blocks: dict[int, np.ndarray] = {}
        self._single_ids: dict[int, dict[int, int]] = {}
        self._blocked_large = 0  # states taken in blocks of tables over SMALL_BLOCK_STATES
        # For the rows of several-member states in numba (see _fill_product_row): each
        # terminal's one-member state ids, at _table_offsets[t] in _single_table (-1 where not
        # numbered yet), _region_sizes[t] entries (a table's states; room to grow for a lazy
        # automaton, moved to a bigger region when outgrown), and scratch arrays.
        self._table_offsets: dict[int, int] = {}
        self._region_sizes: dict[int, int] = {}
        self._single_table = np.full(0, -1, dtype=np.int32)
        self._single_used = 0
        self._member_rows = np.empty((8, 256), dtype=np.int32)
        self._reserved: np.ndarray | None = None  # (see _reserve_rows; transitions is its prefix)
        self._row_scratch = (
            np.empty(256, dtype=np.int32),  # each byte's column class
            np.empty(256, dtype=np.int32),  # each class's target state
            np.empty(512, dtype=np.int32),  # (class, first column) of classes to number
        )
        self.walked: set[int] = set()
        """States whose root trie walk has run: every row a token prefix reads is filled."""

    @property
    def num_states(self) -> int:
        return len(self.members)

    def start_state(self, terminals: frozenset[int]) -> int:
        """The state where every terminal in ``terminals`` has read nothing (``DEAD`` if empty)."""
        cached = self._starts.get(terminals)
        if cached is not None:
            return cached
        if not terminals:
            self._starts[terminals] = DEAD
            return DEAD
        state = self._intern(frozenset((t, 0) for t in terminals))
        self._starts[terminals] = state
        return state

    def state_of(self, terminal: int, state: int) -> int:
        """The lexer state where only ``terminal`` is in progress, in its ``state``."""
        return self._intern(frozenset(((terminal, state),)))

    def explore(self, state: int) -> None:
        """Fill the rows of every state reachable from ``state`` (the whole closure)."""
        self.explore_around(state, self.max_states + 1)

    def ensure_row(self, state: int) -> None:
        """Fill the row of ``state`` if it is not filled yet."""
        if self.transitions[state, 0] == UNEXPLORED:
            self._fill_row(state)

    def explore_around(self, state: int, radius: int, max_rows: int | None = None) -> bool:
        """Fill the rows of every state fewer than ``radius`` bytes away from ``state``; with
        ``max_rows``, stop (returning False) once that many rows were filled on the way."""
        transitions = self.transitions
        if self.ready[state] >= radius:
            return True
        filled = 0
        promised: list[tuple[int, int]] = []  # (state, its ready before): undone on giving up
        pending = [(state, radius)]
        while pending:
            current, need = pending.pop()
            if self.ready[current] >= need:
                continue
            if self.transitions[current, 0] == UNEXPLORED:
                if max_rows is not None and filled >= max_rows:
                    for promised_state, before in reversed(promised):
                        self.ready[promised_state] = before
                    return False
                self._fill_row(current)
                filled += 1
                transitions = self.transitions  # (grown arrays are new objects)
            promised.append((current, int(self.ready[current])))
            self.ready[current] = need
            if need > 1:
                ready = self.ready
                for target in set(transitions[current].tolist()):
                    if target >= 0 and ready[target] < need - 1:
                        pending.append((target, need - 1))
        return True

    def _takes_block(self, size: int) -> bool:
        """Whether a table of ``size`` states is taken as a block (counted if large)."""
        if size <= min(SMALL_BLOCK_STATES, MAX_BLOCK_STATES):
            return True
        if size > MAX_BLOCK_STATES or self._blocked_large + size > MAX_BLOCKED_STATES:
            return False
        self._blocked_large += size
        return True

    def _fill_block(self, terminal: int, dfa: ByteDFA) -> None:
        """Number every state of ``terminal``'s table as a one-member lexer state and fill all
        their rows in one step: a table is small and complete, so this costs less than the
        first few rows one by one would (most of a schema's terminals: keys, strings, numbers,
        punctuation). States numbered before keep their ids; the new ones are found through
        ``_blocks`` (not ``_ids``) by :meth:`_intern`."""
        count = dfa.num_states
        ids = np.full(count, -1, dtype=np.int32)
        for inner, state in self._single_ids.get(terminal, {}).items():
            ids[inner] = state
        fresh = np.flatnonzero(ids < 0)
        first = len(self.members)
        if first + len(fresh) > self.max_states:
            raise self._too_many_states()
        while first + len(fresh) > self.transitions.shape[0]:
            self._grow()
        states = np.arange(first, first + len(fresh), dtype=np.int32)
        ids[fresh] = states
        accepting = dfa.accepting[fresh]
        completes = (terminal,)
        fresh_list = fresh.tolist()
        self.members.extend(zip(zip(repeat(terminal), fresh_list)))  # ((terminal, inner),)
        self.accepting_terminals.extend([completes if a else () for a in accepting.tolist()])
        self.has_accepting[states] = accepting
        if accepting.any():
            self.accepting_group[states] = np.where(accepting, self.group_of(completes), -1)
        renumber_rows(dfa.transitions, ids, self.transitions)
        self._blocks[terminal] = ids
        offset = self._table_offsets.get(terminal, -1)
        if offset >= 0:
            self._single_table[offset : offset + count] = ids

    def _intern(self, members: frozenset) -> int:
        state = self._ids.get(members)
        if state is not None:
            return state
        if len(members) == 1:
            ordered = tuple(members)
            terminal, inner = ordered[0]
            block = self._blocks.get(terminal)
            if block is not None:
                return int(block[inner])
        state = len(self.members)
        if state >= self.max_states:
            raise self._too_many_states()
        if state >= self.transitions.shape[0]:
            self._grow()
        self._ids[members] = state
        if len(members) == 1:
            accepting = (terminal,) if self.dfas[terminal].accepts(inner) else ()
            self._single_ids.setdefault(terminal, {})[inner] = state
            offset = self._table_offsets.get(terminal, -1)
            if offset >= 0 and inner < self._region_sizes[terminal]:
                self._single_table[offset + inner] = state
        else:
            ordered = tuple(sorted(members))
            accepting = tuple(sorted({t for t, q in ordered if self.dfas[t].accepts(q)}))
        self.members.append(ordered)
        self.accepting_terminals.append(accepting)
        self.has_accepting[state] = bool(accepting)
        if accepting:
            self.accepting_group[state] = self.group_of(accepting)
        self.transitions[state] = UNEXPLORED
        return state

    def _too_many_states(self) -> LimitExceededError:
        return LimitExceededError(
            "the number of lexer states",
            self.max_states,
            hint="terminals overlap in too many ways; simplify them or raise max_lexer_states",
        )

    def group_of(self, terminals: tuple[int, ...]) -> int:
        """The id of the accepting group that completes exactly ``terminals`` (numbered now
        if no state so far completes them)."""
        group = self._group_ids.get(terminals)
        if group is None:
            group = self._group_ids[terminals] = len(self.accepting_sets)
            self.accepting_sets.append(terminals)
        return group

    def _grow(self) -> None:
        size = self.transitions.shape[0] * 2
        count = len(self.members)
        with _small_pages():
            if self._grow_in_reservation(size, count):
                return
            self._grow_to(size, count)

    def _grow_in_reservation(self, size: int, count: int) -> bool:
        """Grow the row table as a longer prefix of the reservation (moving it there the first
        time it outgrows :data:`RESERVE_PAST_STATES`); False where the reservation cannot
        hold more rows than the table has."""
        old = self.transitions
        reserved = self._reserved
        if reserved is None:
            if size <= RESERVE_PAST_STATES:
                return False
            reserved = _reserve_rows(min(self.max_states, RESERVED_STATES))
            self._reserved = reserved = _NO_RESERVATION if reserved is None else reserved
        size = min(size, reserved.shape[0])
        if size <= old.shape[0]:  # (outgrown, or none to be had: copies from now on)
            self._reserved = _NO_RESERVATION
            return False
        if old.ctypes.data != reserved.ctypes.data:  # (not yet moved into it)
            reserved[:count] = old[:count]
        self.transitions = reserved[:size]
        self._grow_to(size, count, skip=("transitions",))
        return True

    def _grow_to(self, size: int, count: int, skip: tuple[str, ...] = ()) -> None:
        for name, fill in (
            ("transitions", None),  # (a state's row is written when it is numbered)
            ("has_accepting", False),
            ("accepting_group", -1),
            ("ready", 0),
        ):
            if name in skip:
                continue
            old = getattr(self, name)
            if fill is None:
                new = np.empty((size, *old.shape[1:]), dtype=old.dtype)
            else:
                new = np.full((size, *old.shape[1:]), fill, dtype=old.dtype)
            new[:count] = old[:count]
            setattr(self, name, new)

    def _fill_row(self, current: int) -> None:
        members = self.members[current]
        if len(members) == 1:  # one lexeme in progress: its terminal's row, renumbered
            terminal, state = members[0]
            dfa = self.dfas[terminal]
            if isinstance(dfa, ByteDFA) and self._takes_block(dfa.num_states):
                self._fill_block(terminal, dfa)
                return
            singles = self._singles.get(terminal)
            if singles is None:
                singles = self._singles[terminal] = StateMap(
                    lambda q, t=terminal: self.state_of(t, q)
                )
            row = singles.translate(dfa.row(state))
            self.transitions[current] = row
            return
        if self._fill_product_row(current, members):
            return
        dfas = self.dfas
        rows = np.stack([dfas[t].row(q) for t, q in members])  # [k, 256]
        terminals = [t for t, _ in members]
        # Bytes whose column (each member's next state) is the same lead to the same state:
        # one state per distinct column, not per byte. Most columns past a key's first bytes
        # keep one member alive: its one-member state, without a set of all members.
        firsts, inverse = column_classes(rows)
        targets = np.empty(len(firsts) + 1, dtype=np.int32)
        targets[0] = DEAD  # (the class of a dead column is -1)
        columns = rows[:, firsts]
        live = columns >= 0
        alone = live.sum(axis=0) == 1
        sole = np.flatnonzero(alone)
        if len(sole):
            who = live[:, sole].argmax(axis=0)
            for index, member, inner in zip(
                sole.tolist(), who.tolist(), columns[who, sole].tolist()
            ):
                targets[index + 1] = self.state_of(terminals[member], inner)
        for index in np.flatnonzero(~alone).tolist():
            targets[index + 1] = self._target_of(terminals, columns[:, index].tolist())
        self.transitions[current] = targets[inverse + 1]

    def _fill_product_row(self, current: int, members: tuple[tuple[int, int], ...]) -> bool:
        """The row of a several-member state in numba (``product_row``): the Python row of
        :meth:`_fill_row` with the column classes and one-member targets found by the kernel,
        leaving Python only the targets not numbered yet (and the one-member targets of
        members that are not tables). False (nothing done) before numba is loaded."""
        kernels = product_row_kernels()
        if kernels is None:
            return False
        count = len(members)
        rows = self._member_rows
        if rows.shape[0] < count:
            rows = self._member_rows = np.empty((2 * count, 256), dtype=np.int32)
        offsets = np.empty(count, dtype=np.int64)
        dfas, known = self.dfas, self._table_offsets
        for position, (terminal, inner) in enumerate(members):
            offset = known.get(terminal)
            if offset is None:
                offset = self._table_offset(terminal)
            automaton = dfas[terminal]
            if isinstance(automaton, ByteDFA):
                rows[position] = automaton.transitions[inner]
            else:  # a lazy automaton (a JSON string): its row asked for, its region grown
                row = rows[position] = automaton.row(inner)
                top = int(row.max())
                if top >= self._region_sizes[terminal]:
                    offset = self._table_offset(terminal, top + 1)
            offsets[position] = offset
        rows = rows[:count]
        product_row, write_row = kernels
        inverse, targets, pending = self._row_scratch
        waiting = product_row(
            rows, offsets, self._single_table, inverse, targets, pending,
            self.transitions, current,
        )  # fmt: skip
        if waiting:
            terminals = [t for t, _ in members]
            for index, column in pending[: 2 * waiting].reshape(-1, 2).tolist():
                targets[index] = self._target_of(terminals, rows[:, column].tolist())
            # (numbering may have grown the arrays: write into the current ones)
            write_row(inverse, targets, self.transitions, current)
        return True

    def _target_of(self, terminals: list[int], column: list[int]) -> int:
        """The state of the members alive in ``column`` (each member's next inner state,
        negative where it dies; at least one alive), numbered now if new."""
        alive = [(t, q) for t, q in zip(terminals, column) if q >= 0]
        return self.state_of(*alive[0]) if len(alive) == 1 else self._intern(frozenset(alive))

    def _table_offset(self, terminal: int, need: int = 0) -> int:
        """Where ``terminal``'s one-member state ids start in ``_single_table``: a region
        placed now, holding the states numbered so far — a table's states, or room for twice
        the ``need`` states of a lazy automaton (placed again, bigger, when it outgrows it)."""
        dfa = self.dfas[terminal]
        size = dfa.num_states if isinstance(dfa, ByteDFA) else max(LAZY_REGION_STATES, 2 * need)
        offset = self._single_used
        if offset + size > len(self._single_table):
            grown = np.full(max(offset + size, 2 * len(self._single_table), 1024), -1, np.int32)
            grown[:offset] = self._single_table[:offset]
            self._single_table = grown
        ids = self._single_table[offset : offset + size]
        block = self._blocks.get(terminal)
        if block is not None:
            ids[:] = block
        else:
            for inner, state in self._single_ids.get(terminal, {}).items():
                if inner < size:
                    ids[inner] = state
        self._single_used = offset + size
        self._table_offsets[terminal] = offset
        self._region_sizes[terminal] = size
        return offset
