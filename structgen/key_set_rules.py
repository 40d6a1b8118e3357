"""Rules made on demand: an object's members in any order, one set of keys seen at a time.

An object whose members may come in any order, each *tracked* key at most once and every
required one before ``}``, is a machine whose states are the sets of tracked keys seen: ``2^n``
states for ``n`` keys, far too many rules to write out past a dozen keys (the permutations of
``n`` keys need exponentially many rules in any context-free grammar). A document visits only
``n + 1`` of them, so :class:`KeySetRules` names a state's nonterminals and makes their rules when
the parser first predicts one (:class:`~structgen.engines.cfg.earley.EarleyGrammar` asks it for
the rules of a symbol it owns that has none yet).

The language, with ``root`` the symbol after ``{``::

    root  → "}"                          (if nothing is required)
          | PAIR_k R(bit_k)               (any move k; an untracked move has bit 0)
    R(s)  → LOOP B(s) | B(s)              (LOOP: one or more "," PAIR_u of untracked moves)
    B(s)  → "}"                          (if s holds every required bit)
          | "," PAIR_k R(s | bit_k)       (a tracked move whose bit is not in s)

Without untracked moves, ``R(s)`` has ``B(s)``'s rules itself. A state's symbols are
``<root>@r<hex>`` and ``<root>@b<hex>``; every symbol its rules name is one of those, or in
:meth:`KeySetRules.uses` (terminals and nonterminals of the eager grammar).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["KeySetRules", "lazy_owner"]

SEPARATOR = "@"
"""Between a source's root and the name of one of its states (no other symbol holds it)."""


@dataclass(frozen=True)
class KeySetRules:
    """The member rules of one "any order" object, made per key set (see the module)."""

    root: str
    pairs: tuple[str, ...]
    bits: tuple[int, ...]  # per pair: its key's bit (0: untracked, it may come again)
    required: int  # the bits that must all be seen before "}"
    comma: str
    close: str
    loop: str | None  # the eager nonterminal of one or more "," PAIR of the untracked pairs

    def owns(self, symbol: str) -> bool:
        return symbol == self.root or symbol.startswith(self.root + SEPARATOR)

    def uses(self) -> frozenset[str]:
        """The symbols of the eager grammar its rules name."""
        used = {*self.pairs, self.comma, self.close}
        if self.loop is not None:
            used.add(self.loop)
        return frozenset(used)

    def state_symbol(self, seen: int, kind: str = "r") -> str:
        return f"{self.root}{SEPARATOR}{kind}{seen:x}"

    def rules_of(self, symbol: str) -> list[tuple[str, tuple[str, ...]]]:
        """The rules of ``symbol`` (one this source owns), in a fixed order."""
        if symbol == self.root:
            out = [(symbol, (self.close,))] if not self.required else []
            for pair, bit in zip(self.pairs, self.bits):
                out.append((symbol, (pair, self.state_symbol(bit))))
            return out
        kind, seen = self._parse(symbol)
        if kind == "r" and self.loop is not None:
            body = self.state_symbol(seen, "b")
            return [(symbol, (self.loop, body)), (symbol, (body,))]
        out = [(symbol, (self.close,))] if self.required & ~seen == 0 else []
        for pair, bit in zip(self.pairs, self.bits):
            if bit and not bit & seen:
                out.append((symbol, (self.comma, pair, self.state_symbol(seen | bit))))
        return out

    def _parse(self, symbol: str) -> tuple[str, int]:
        rest = symbol[len(self.root) + len(SEPARATOR) :]
        kind, digits = rest[:1], rest[1:]
        if not self.owns(symbol) or kind not in ("r", "b") or not digits:
            raise ValueError(f"{symbol!r} is no state symbol of {self.root!r}")
        seen = int(digits, 16)
        if seen & ~self._tracked():
            raise ValueError(f"{symbol!r} holds keys {self.root!r} does not track")
        return kind, seen

    def _tracked(self) -> int:
        out = 0
        for bit in self.bits:
            out |= bit
        return out

    def example_rules(self) -> list[tuple[str, tuple[str, ...]]]:
        """The rules of the documents that write the tracked keys in the order of ``pairs``
        (untracked pairs anywhere): a part of the language, ``n + 1`` states, for what needs
        rules written out (examples)."""
        chain = [0]
        for bit in dict.fromkeys(bit for bit in self.bits if bit):
            chain.append(chain[-1] | bit)
        following = dict(zip(chain, chain[1:]))
        kinds = ("r", "b") if self.loop is not None else ("r",)
        symbols = [self.root] + [self.state_symbol(s, kind) for s in chain for kind in kinds]
        out = []
        for symbol in symbols:
            here = 0 if symbol == self.root else self._parse(symbol)[1]
            for rule in self.rules_of(symbol):
                targets = [self._parse(name)[1] for name in rule[1] if self.owns(name)]
                if all(t in (here, following.get(here)) for t in targets):
                    out.append(rule)
        return out

    def renamed(self, rename: Callable[[str], str]) -> KeySetRules:
        """The same rules with every eager symbol and the root renamed by ``rename``."""
        return replace(
            self,
            root=rename(self.root),
            pairs=tuple(map(rename, self.pairs)),
            comma=rename(self.comma),
            close=rename(self.close),
            loop=None if self.loop is None else rename(self.loop),
        )

    def payload(self) -> dict[str, Any]:
        """JSON-able fields (for fingerprints and serialised engines)."""
        return {
            "kind": "key_set_rules",
            "root": self.root,
            "pairs": list(self.pairs),
            "bits": [format(bit, "x") for bit in self.bits],
            "required": format(self.required, "x"),
            "comma": self.comma,
            "close": self.close,
            "loop": self.loop,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> KeySetRules:
        if data.get("kind") != "key_set_rules":
            raise ValueError(f"not key-set rules: {data.get('kind')!r}")
        return cls(
            root=str(data["root"]),
            pairs=tuple(map(str, data["pairs"])),
            bits=tuple(int(bit, 16) for bit in data["bits"]),
            required=int(data["required"], 16),
            comma=str(data["comma"]),
            close=str(data["close"]),
            loop=None if data["loop"] is None else str(data["loop"]),
        )


def lazy_owner(sources: dict[str, KeySetRules], symbol: str) -> KeySetRules | None:
    """The source (by root) that owns ``symbol``, if any."""
    source = sources.get(symbol.split(SEPARATOR, 1)[0])
    return source if source is not None and source.owns(symbol) else None
