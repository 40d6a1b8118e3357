"""Earley recognition over terminals with hash-consed, immutable Earley sets.

An item is ``(rule, dot, origin)``; ``origin`` is the :class:`EarleySet` where the rule started,
or :data:`SELF` for items predicted in the set that holds them (so no set refers to itself).
A set keeps only its items still waiting for a symbol — complete items have already done their
work in the closure — and sets are interned on those items and whether the input so far is a
sentence: two parser states with the same future *are* the same object, which makes the
configurations (and so the memoised masks) of different positions coincide.

Nullable nonterminals are handled as Aycock & Horspool (2002) propose: predicting a nullable
nonterminal also advances the predicting item over it, so ε-completions need no extra pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from structgen.errors import ConfigurationError, LimitExceededError
from structgen.key_set_rules import lazy_owner

if TYPE_CHECKING:
    from structgen.ir import Grammar, RuleArrays


class _Self:
    __slots__ = ()

    def __repr__(self) -> str:
        return "SELF"


SELF = _Self()
Item = tuple  # (rule_id, dot, origin: EarleySet | SELF)
_NOTHING_WAITING: dict[int, list] = {}  # (read only)


class Predictions:
    """The items a set predicts (origin ``SELF``), shared by every set predicting the same ones:
    ``by_next`` and ``expected`` are computed once per distinct prediction, not per set."""

    __slots__ = ("items", "by_next", "expected")

    def __init__(self, items: frozenset, by_next: dict[int, list], expected: frozenset[int]):
        self.items = items
        self.by_next = by_next
        self.expected = expected


class EarleySet:
    """An immutable, interned Earley set; ``expected`` holds the terminal ids it can scan.

    Its pending items are ``own`` (from scanning and completion: items whose rule started at
    another set) and ``predicted.items``; ``own_next`` indexes the own ones by the symbol after
    the dot (``predicted.by_next`` the others: shared, never copied per set).
    """

    __slots__ = ("own", "predicted", "own_next", "expected", "accepting", "_scans", "__weakref__")

    def __init__(
        self,
        own: frozenset,
        predicted: Predictions,
        own_next: dict[int, list],
        expected: frozenset[int],
        accepting: bool,
    ):
        self.own = own
        self.predicted = predicted
        self.own_next = own_next
        self.expected = expected
        self.accepting = accepting
        self._scans: dict[int, EarleySet] = {}

    @property
    def items(self) -> frozenset:
        """Every pending item (own and predicted)."""
        return self.own | self.predicted.items

    def __repr__(self) -> str:
        size = len(self.own) + len(self.predicted.items)
        return f"EarleySet({size} items, expects {sorted(self.expected)})"


def _rules_by_lhs(heads: list[int]) -> dict[int, list[int]]:
    """Rule indices grouped by left-hand side, each group in rule order (a stable sort: a
    large schema grammar has ~100k rules, where a loop of dict lookups costs ~25 ms)."""
    import numpy as np

    keys = np.array(heads, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    bounds = [0, *(np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist(), len(heads)]
    indices = order.tolist()
    return {heads[indices[a]]: indices[a:b] for a, b in zip(bounds, bounds[1:]) if a < b}


class EarleyGrammar:
    """A grammar IR with symbols as ints: terminals ``0..T-1``, nonterminals ``T..``.

    Rule 0 is the augmented start ``S' → start``.
    """

    def __init__(
        self, grammar: Grammar, *, terminal_ids: dict[str, int], max_items: int = 200_000
    ) -> None:
        self.terminal_ids = terminal_ids
        self.num_terminals = len(terminal_ids)
        augmented = self.num_terminals  # S'
        self._lazy = {source.root: source for source in grammar.lazy}
        self._lazy_names: dict[int, str] = {}  # lazily owned nonterminals by id
        numbered = grammar.arrays
        if (
            numbered is None
            or numbered.rules is not grammar.rules  # (rules replaced since they were numbered)
            or not self._read(numbered, grammar.start)
        ):
            nonterminals = sorted(grammar.nonterminals | self._lazy_named(grammar))
            self.nonterminal_ids = {
                name: self.num_terminals + 1 + i for i, name in enumerate(nonterminals)
            }
            symbol = {**terminal_ids, **self.nonterminal_ids}
            code = symbol.__getitem__
            nonterminal = self.nonterminal_ids.__getitem__
            self.rules = [(augmented, (self.nonterminal_ids[grammar.start],))]
            self.rules.extend(
                [(nonterminal(rule.lhs), tuple(map(code, rule.rhs))) for rule in grammar.rules]
            )
            self.rule_length = [len(rhs) for _, rhs in self.rules]
            self.nullable = self._nullable(range(len(self.rules)))
        self.rules_by_lhs = _rules_by_lhs([lhs for lhs, _ in self.rules])
        if self._lazy:
            names = {number: name for name, number in self.nonterminal_ids.items()}
            self._lazy_names = {
                number: name
                for number, name in names.items()
                if number not in self.rules_by_lhs and lazy_owner(self._lazy, name) is not None
            }
        self._predictions: dict[int, frozenset] = {}
        self.max_items = max_items
        self._interned: dict[tuple[frozenset, Predictions, bool], EarleySet] = {}
        # Predictions by the symbols predicted, and by their items (one object per item set).
        self._predictions_of: dict[frozenset[int], Predictions] = {}
        self._prediction_ids: dict[frozenset, Predictions] = {}
        self.sets_made = 0  # sets built since construction (interned or not): a work counter
        self.interned_items = 0  # items held by the intern table: what forget() frees
        self.items_built = 0  # items built by closures so far (complete ones too): a work counter
        self.initial = self._make_set([(0, 0, SELF)], initial=True)

    def is_terminal(self, symbol: int) -> bool:
        return symbol < self.num_terminals

    def _lazy_named(self, grammar: Grammar) -> set[str]:
        """The symbols of lazy sources the rules name (their roots, states made so far)."""
        if not self._lazy:
            return set()
        named = {symbol for rule in grammar.rules for symbol in rule.rhs}
        return {symbol for symbol in named if lazy_owner(self._lazy, symbol) is not None}

    def _rules_of(self, symbol: int) -> list[int]:
        """The rule ids of ``symbol`` (made now for a lazily owned one predicted first)."""
        found = self.rules_by_lhs.get(symbol)
        if found is None:
            name = self._lazy_names.pop(symbol, None)
            found = [] if name is None else self._make_lazy_rules(symbol, name)
            self.rules_by_lhs[symbol] = found
        return found

    def _make_lazy_rules(self, symbol: int, name: str) -> list[int]:
        """Number the rules the lazy source of ``name`` makes for it (and the new state
        symbols they name). None of them derives ε: each reads a terminal or a symbol that
        does before it ends."""
        source = lazy_owner(self._lazy, name)
        assert source is not None
        made = []
        for _, rhs in source.rules_of(name):
            made.append(len(self.rules))
            self.rules.append((symbol, tuple(map(self._number_symbol, rhs))))
            self.rule_length.append(len(rhs))
        return made

    def _number_symbol(self, name: str) -> int:
        found = self.terminal_ids.get(name)
        if found is None:
            found = self.nonterminal_ids.get(name)
        if found is None:  # a state symbol named for the first time
            if lazy_owner(self._lazy, name) is None:
                raise ConfigurationError(f"lazy rules name {name!r}, which the grammar lacks")
            found = self.nonterminal_ids[name] = self.num_terminals + 1 + len(self.nonterminal_ids)
            self._lazy_names[found] = name
        return found

    def _read(self, numbered: RuleArrays, start_symbol: str) -> bool:
        """Number the rules from the grammar's :class:`~structgen.ir.RuleArrays` (a large
        schema grammar's, numbered already): the same ids, rules and lengths as from the named
        rules, with array passes. False (nothing set) when they name a symbol this grammar
        cannot number; the named pass then reports it."""
        import numpy as np

        names, number = numbered.symbols, numbered.number
        roots = [number[root] for root in self._lazy if root in number]  # (named, no rules)
        heads = sorted(set(np.unique(numbered.lhs).tolist()) | set(roots), key=names.__getitem__)
        first = self.num_terminals + 1
        self.nonterminal_ids = {names[code]: first + i for i, code in enumerate(heads)}
        ids = np.full(len(names), -1, dtype=np.int64)
        for name, terminal in self.terminal_ids.items():
            if name in number:
                ids[number[name]] = terminal
        ids[heads] = np.arange(first, first + len(heads))
        lhs, rhs = ids[numbered.lhs], ids[numbered.rhs]
        if len(rhs) and int(rhs.min()) < 0:
            return False
        body, bounds = rhs.tolist(), numbered.offsets.tolist()
        bodies = [tuple(body[a:b]) for a, b in zip(bounds, bounds[1:])]
        start = (self.nonterminal_ids[start_symbol],)
        self.rules = [(self.num_terminals, start), *zip(lhs.tolist(), bodies)]
        self.rule_length = [1, *np.diff(numbered.offsets).tolist()]
        # ε can only come from rules without a terminal: the worklist reads those alone
        readings = np.zeros(len(rhs) + 1, dtype=np.int64)
        np.cumsum(rhs < self.num_terminals, out=readings[1:])
        terminal_free = readings[numbered.offsets[1:]] == readings[numbered.offsets[:-1]]
        self.nullable = self._nullable([0, *(np.flatnonzero(terminal_free) + 1).tolist()])
        return True

    def _nullable(self, candidates: Iterable[int]) -> set[int]:
        """The nonterminals that derive ε: a worklist over the rules of ``candidates`` whose
        symbols are all nonterminals (a terminal is never nullable), linear in the grammar."""
        num_terminals = self.num_terminals
        rules = self.rules
        waiting: list[int] = []
        users: dict[int, list[int]] = {}
        nullable: set[int] = set()
        ready: list[int] = []
        heads: list[int] = []
        for rule in candidates:
            lhs, rhs = rules[rule]
            if rhs and min(rhs) < num_terminals:
                continue
            index = len(heads)
            heads.append(lhs)
            waiting.append(len(rhs))
            for s in rhs:
                users.setdefault(s, []).append(index)
            if not rhs and lhs not in nullable:
                nullable.add(lhs)
                ready.append(lhs)
        while ready:
            for index in users.get(ready.pop(), ()):
                waiting[index] -= 1
                lhs = heads[index]
                if waiting[index] == 0 and lhs not in nullable:
                    nullable.add(lhs)
                    ready.append(lhs)
        return nullable

    def scan(self, source: EarleySet, terminal: int) -> EarleySet:
        """The set after ``terminal`` is read from ``source`` (memoised on ``source``)."""
        cached = source._scans.get(terminal)
        if cached is not None:
            return cached
        predicted = source.predicted
        kernel = [
            (rule, dot + 1, source if origin is SELF else origin)
            for rule, dot, origin in source.own_next.get(terminal, ())
        ]
        kernel += [(rule, dot + 1, source) for rule, dot, _ in predicted.by_next.get(terminal, ())]
        result = self._make_set(kernel)
        source._scans[terminal] = result
        return result

    def forget(self) -> None:
        """Drop the intern table and scan memos (bounds memory on long or ambiguous inputs).

        Sets already handed out stay valid; equal sets built later are new objects, so only
        sharing (and the memoised work hanging off it) is lost, never correctness.
        """
        for earley_set in self._interned.values():
            earley_set._scans.clear()
        self._interned.clear()
        self._predictions_of.clear()
        self._prediction_ids.clear()
        self.initial._scans.clear()
        self.interned_items = 0

    def _predicted(self, symbol: int) -> frozenset:
        """Every item predicting ``symbol`` adds to its set: the rules of ``symbol`` and, closed
        under prediction and nullable advance, the items they predict — all with origin
        ``SELF``, so the same in every set (computed once per nonterminal; pending ones only)."""
        cached = self._predictions.get(symbol)
        if cached is None:
            cached = self._predictions[symbol] = self._close_predictions((symbol,))
        return cached

    def _make_set(self, kernel: list, *, initial: bool = False) -> EarleySet:
        self.sets_made += 1
        rules, nullable, num_terminals = self.rules, self.nullable, self.num_terminals
        items = set(kernel)
        agenda = list(items)
        predicted_here: set[int] = set()
        # Items with origin SELF need no agenda work: what they predict and advance over is in
        # _predicted(), and a complete SELF item is an ε-derivation, handled by nullable advance.
        # So only the symbols predicted here are collected; their items join at the end, as one
        # shared Predictions object.
        while agenda:
            rule, dot, origin = agenda.pop()
            lhs, rhs = rules[rule]
            if dot < len(rhs):
                following = rhs[dot]
                if following < num_terminals:
                    continue
                predicted_here.add(following)
                if following in nullable:  # (only kernel items here may have origin SELF)
                    item = (rule, dot + 1, origin)
                    if item not in items:
                        items.add(item)
                        agenda.append(item)
            elif origin is not SELF:
                for waiting_rule, waiting_dot, waiting_origin in origin.own_next.get(lhs, ()):
                    # (own items have another set as origin, but the initial set's own kernel)
                    item = (
                        waiting_rule,
                        waiting_dot + 1,
                        origin if waiting_origin is SELF else waiting_origin,
                    )
                    if item not in items:
                        items.add(item)
                        agenda.append(item)
                for waiting_rule, waiting_dot, _ in origin.predicted.by_next.get(lhs, ()):
                    item = (waiting_rule, waiting_dot + 1, origin)
                    if item not in items:
                        items.add(item)
                        agenda.append(item)
            if len(items) > self.max_items:
                self._too_many_items()
        predicted = self._predictions_for(frozenset(predicted_here))
        if len(items) + len(predicted.items) > self.max_items:
            self._too_many_items()
        self.items_built += len(items) + len(predicted.items)
        # A complete item of the start rule: the text so far is a sentence. (Predicted items
        # are never that one: nothing predicts the augmented start.)
        accepting = (0, 1, SELF if initial else self.initial) in items
        # Complete items have done all they can (their completions are in the closure above):
        # the future of a set depends only on its items still waiting for a symbol. Interning on
        # those alone makes sets at different positions, with the same pending work, one object.
        rule_length = self.rule_length
        own = frozenset(item for item in items if item[1] < rule_length[item[0]])
        return self._intern(own, predicted, accepting)

    def _too_many_items(self) -> None:
        raise LimitExceededError(
            "the number of Earley items in one parser state",
            self.max_items,
            hint="the grammar is highly ambiguous here; raise max_items or simplify it",
        )

    def _predictions_for(self, symbols: frozenset[int]) -> Predictions:
        """The shared Predictions of a set predicting ``symbols`` (closed under prediction)."""
        found = self._predictions_of.get(symbols)
        if found is None:
            if len(symbols) <= 2:
                items = frozenset().union(*(self._predicted(symbol) for symbol in symbols))
            else:
                items = self._close_predictions(symbols)
            found = self._predictions_of[symbols] = self._prediction(items)
        return found

    def _close_predictions(self, symbols: Iterable[int]) -> frozenset:
        """The union of :meth:`_predicted` over ``symbols``, closed in one pass: each symbol is
        expanded once however many of them predict it (per symbol, overlapping closures of a
        large grammar were each walked whole: 255 of them took 0.1 s). Closures computed
        before are taken whole. Complete items (ε-derivations, handled by nullable advance)
        are left out."""
        rules, by_lhs, nullable = self.rules, self.rules_by_lhs, self.nullable
        num_terminals = self.num_terminals
        items: set = set()
        expanded: set[int] = set()
        agenda: list = []

        def push(item: Item) -> None:
            if item not in items:
                items.add(item)
                agenda.append(item)

        def expand(symbol: int) -> None:
            expanded.add(symbol)
            rules_of = by_lhs.get(symbol)
            for rule in self._rules_of(symbol) if rules_of is None else rules_of:
                push((rule, 0, SELF))

        for symbol in symbols:
            cached = self._predictions.get(symbol)
            if cached is not None:  # closed already: its items need no agenda work
                items.update(cached)
                expanded.add(symbol)
        for symbol in symbols:
            if symbol not in expanded:
                expand(symbol)
        while agenda:
            rule, dot, _ = agenda.pop()
            rhs = rules[rule][1]
            if dot == len(rhs) or rhs[dot] < num_terminals:
                continue
            following = rhs[dot]
            if following not in expanded:
                expand(following)
            if following in nullable:
                push((rule, dot + 1, SELF))
        rule_length = self.rule_length
        return frozenset(item for item in items if item[1] < rule_length[item[0]])

    def _prediction(self, items: frozenset) -> Predictions:
        """The one Predictions object of these predicted items."""
        found = self._prediction_ids.get(items)
        if found is None:
            by_next = self._index(items)
            expected = frozenset(s for s in by_next if s < self.num_terminals)
            found = self._prediction_ids[items] = Predictions(items, by_next, expected)
            self.interned_items += len(items)
        return found

    def _index(self, items) -> dict[int, list]:
        """``items`` by the symbol after their dot."""
        rules = self.rules
        by_next: dict[int, list] = {}
        for item in items:
            by_next.setdefault(rules[item[0]][1][item[1]], []).append(item)
        return by_next

    def union(self, sets: list[EarleySet]) -> EarleySet:
        """One set for several reached at the same input position (the Earley chart there).

        Closure is union-distributive (every closure step has a single premise item), so the
        union of closed sets is closed; ``SELF`` items mean "predicted here" in each, hence in
        the union too. Merging keeps the number of parser states per position at one however
        many ways the text so far could be lexed.
        """
        distinct = list(dict.fromkeys(sets))
        if len(distinct) == 1:
            return distinct[0]
        own = frozenset().union(*(s.own for s in distinct))
        predictions = list(dict.fromkeys(s.predicted for s in distinct))
        predicted = (
            predictions[0]
            if len(predictions) == 1
            else self._prediction(frozenset().union(*(p.items for p in predictions)))
        )
        return self._intern(own, predicted, any(s.accepting for s in distinct))

    def _intern(self, own: frozenset, predicted: Predictions, accepting: bool) -> EarleySet:
        key = (own, predicted, accepting)
        interned = self._interned.get(key)
        if interned is not None:
            return interned
        if own:
            own_next = self._index(own)
            num_terminals = self.num_terminals
            expected = predicted.expected | {s for s in own_next if s < num_terminals}
        else:
            own_next, expected = _NOTHING_WAITING, predicted.expected
        result = EarleySet(own, predicted, own_next, expected, accepting)  # read-only lists
        self._interned[key] = result
        self.interned_items += len(own)
        return result
