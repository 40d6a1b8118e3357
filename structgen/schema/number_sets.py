"""Numbers with ``not: {multipleOf}``: multiples of one step that are multiples of none of some
others, within bounds, without some points — exact.

Number texts form a regular language and "is a multiple of ``m``" is regular over the digits
(:func:`~structgen.schema.numbers.remainder_automaton`, decimal steps by
:func:`~structgen.schema.decimal_multiples.multiple_dfa`), so is its complement and any
intersection with bounds. Two constructions give the same language; the smaller is taken:

* **enumeration**, when the bounds leave at most :data:`ENUMERATED` multiples of the required
  step (``multipleOf: 8721`` between −100000 and −10000 leaves ten): the values that pass every
  test are listed and their texts form a trie. A product of remainder automata would need one
  state per remainder modulo the least common multiple of all the steps (``8721·2·13·5·7·11·37``
  for ``Handwritten/num4``), far past any limit, where the list has one entry;
* **products**: the texts in range times one automaton of the residues modulo the least common
  multiple of every (integer) step, accepting the residues that are multiples of the required
  step and of no excluded one; past :data:`_RESIDUE_STATES` residues, and for decimal steps,
  the remainder automaton of the required step and minus that of each excluded step, minimised
  after each (at most ``max_regex_states`` states, else a :class:`LimitExceededError` naming
  the keyword).

What is written follows the other ``multipleOf`` paths: with an integral step (or ``type:
integer``) integer literals and zero fractions (``12.0``, on integers of at most 15 digits);
otherwise plain decimals readable as doubles
(:func:`~structgen.schema.decimal_multiples.readable_texts`), never an exponent (whether
``d.ddde±E`` is a multiple compares two unbounded counts). Zero is a multiple of every step, so
``not: {multipleOf}`` always removes it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

from structgen.errors import LimitExceededError
from structgen.regex.codepoint_dfa import CodePointDFA
from structgen.regex.nodes import NOTHING, alt, char, concat, repeat
from structgen.schema.builder import SchemaBuilder
from structgen.schema.decimal_multiples import (
    common_multiple,
    decimal_step,
    multiple_dfa,
    readable_texts,
)
from structgen.schema.float_bounds import float_safe_bounds
from structgen.schema.multiples import FRACTION_STATES, dfa_symbol, small_with_fraction
from structgen.schema.normalize import NumberSpec
from structgen.schema.number_lists import MAX_LISTED, listed_numbers
from structgen.schema.numbers import (
    divisibility_dfa,
    exact_decimal,
    int_range,
    integer_bounds,
    integer_modulus,
    number_node,
    residue_automaton,
)

__all__ = ["ENUMERATED", "number_set_dfa", "number_set_symbol"]

# The bounds leave at most this many multiples of the required step: list them.
ENUMERATED = MAX_LISTED
# Up to this modulus (and max_regex_states), the residues modulo the least common multiple of
# every integer step are one automaton (one product, not one per step).
_RESIDUE_STATES = 1 << 16

_ZEROS = concat(char("."), repeat(char("0"), 1, None))


def _ignore(message: str) -> None:
    return None


def number_set_symbol(builder: SchemaBuilder, spec: NumberSpec, *, pointer: str) -> str | None:
    """A symbol for the number texts that ``spec`` allows (``None``: there are none)."""
    dfa = number_set_dfa(
        spec, max_states=builder.options.max_regex_states, pointer=pointer, warn=builder.warn
    )
    integral = _integral(spec)
    return dfa_symbol(builder, dfa, name="int" if integral else "num")


def number_set_dfa(
    spec: NumberSpec,
    *,
    max_states: int,
    pointer: str,
    warn: Callable[[str], None] = _ignore,
) -> CodePointDFA:
    """The texts of the numbers ``spec`` allows (see the module doc), as a minimal DFA
    (``warn``: told of texts left out)."""
    where = spec.not_multiples[0][1] if spec.not_multiples else pointer
    integral = _integral(spec)
    step = _required_step(spec, integral)
    excluded = [Fraction(q) for q, _ in spec.not_multiples]
    if any(_is_multiple(step, q) for q in excluded):
        return CodePointDFA.from_node(NOTHING)
    values = _candidates(spec, step)
    if values is not None:
        try:
            return _enumerated(spec, values, step, excluded, max_states)
        except LimitExceededError:
            pass  # too many texts for a trie: the product may still be small
    try:
        return _product(spec, step, excluded, integral, max_states, where, warn)
    except LimitExceededError:
        raise LimitExceededError(
            f"the automaton of the numbers allowed by multipleOf and not multipleOf at {where} "
            "(DFA states)",
            max_states,
            hint="raise max_regex_states, or bound the range more tightly",
        ) from None


# -- the arithmetic -------------------------------------------------------------------------------
def _integral(spec: NumberSpec) -> bool:
    step = common_multiple([m for m, _ in spec.multiples])
    return spec.integer or (step is not None and step.denominator == 1)


def _required_step(spec: NumberSpec, integral: bool) -> Fraction | None:
    """The least positive number every allowed value is a multiple of (``None``: any decimal)."""
    multiples = [m for m, _ in spec.multiples]
    if integral:
        return Fraction(integer_modulus(multiples))
    return common_multiple(multiples)


def _is_multiple(step: Fraction | None, q: Fraction) -> bool:
    """Whether every multiple of ``step`` is a multiple of ``q``."""
    return step is not None and (step / q).denominator == 1


def _candidates(spec: NumberSpec, step: Fraction | None) -> range | None:
    """The ``t`` with ``t · step`` within the bounds, when they are few (else ``None``)."""
    if step is None or spec.low is None or spec.high is None:
        return None
    low, high = Fraction(spec.low.value) / step, Fraction(spec.high.value) / step
    first, last = math.ceil(low), math.floor(high)
    if spec.low.exclusive and first == low:
        first += 1
    if spec.high.exclusive and last == high:
        last -= 1
    if last - first + 1 > ENUMERATED:
        return None
    return range(first, last + 1)


# -- enumeration ----------------------------------------------------------------------------------
def _enumerated(
    spec: NumberSpec,
    values: range,
    step: Fraction,
    excluded: list[Fraction],
    max_states: int,
) -> CodePointDFA:
    points = {Fraction(v) for v in spec.excluded}
    kept = (step * t for t in values)
    return listed_numbers(
        (
            value
            for value in kept
            if value not in points and all((value / q).denominator != 1 for q in excluded)
        ),
        max_states=max_states,
    )


# -- products -------------------------------------------------------------------------------------
def _product(
    spec: NumberSpec,
    step: Fraction | None,
    excluded: list[Fraction],
    integral: bool,
    max_states: int,
    where: str,
    warn: Callable[[str], None],
) -> CodePointDFA:
    if integral:
        low, high = integer_bounds(spec.low, spec.high)
        required = 1 if step is None else int(step)
        moduli = _essential(required, [integer_modulus([exact_decimal(q)]) for q in excluded])
        literals = CodePointDFA.from_node(int_range(low, high), max_states=max_states)
        dfa = _divisible(literals, required, moduli, max_states)
        # Zero fractions (``12.0``) count up to 15 digits: about 16 times the states, so they
        # are built within FRACTION_STATES, and left out past it with a warning.
        try:
            fractions = CodePointDFA.from_node(small_with_fraction(low, high))
            fractions = _divisible(fractions, required, moduli, FRACTION_STATES)
            dfa = dfa.union(fractions, max_states=max_states).minimized()
        except LimitExceededError:
            warn(
                f"not multipleOf at {where}: integers written with a zero fraction (12.0) are "
                f"not generated (more than {FRACTION_STATES} automaton states)"
            )
        points = [Fraction(v) for v in spec.excluded if Fraction(v).denominator == 1]
    else:
        low_int, high_int = integer_bounds(spec.low, spec.high)
        texts = alt(
            number_node(*float_safe_bounds(spec.low, spec.high)), int_range(low_int, high_int)
        )
        dfa = _meet(
            CodePointDFA.from_node(texts, max_states=max_states),
            CodePointDFA.from_node(readable_texts(), max_states=max_states),
            max_states,
        )
        if step is not None:
            dfa = _meet(dfa, multiple_dfa(*decimal_step(step), max_states=max_states), max_states)
        for q in _essential(step, excluded):
            dfa = _remove(dfa, multiple_dfa(*decimal_step(q), max_states=max_states), max_states)
        points = [Fraction(v) for v in spec.excluded]
    if points:
        dfa = _remove(dfa, listed_numbers(points, max_states=max_states), max_states)
    return dfa


def _essential(required: Fraction | int | None, steps: list) -> list:
    """The excluded ``steps`` that matter beside the ``required`` one (``None``: none).

    With ``x = required·t``, ``x`` is a multiple of ``q`` exactly when ``t`` is a multiple of
    ``e``, the denominator of ``required/q``; a step whose ``e`` is a multiple of another's
    excludes nothing more (``not 8`` beside ``multipleOf: 429`` and ``not 6``: every multiple
    of 8 left is even), and leaving it out keeps the automata small. Without a required step
    ``e`` is the step itself."""

    def factor(q) -> Fraction:
        if required is None:
            return Fraction(q)
        return Fraction((Fraction(required) / q).denominator)

    kept: list = []
    for q in sorted(set(steps), key=lambda q: (factor(q), q)):  # a divisor comes first
        if not any((factor(q) / factor(p)).denominator == 1 for p in kept):
            kept.append(q)
    return sorted(kept)


def _divisible(
    dfa: CodePointDFA, required: int, moduli: list[int], max_states: int
) -> CodePointDFA:
    """``dfa`` (integer texts) without the values not divisible by ``required`` or divisible
    by one of ``moduli``."""
    common = math.lcm(required, *moduli)
    if common + 3 <= min(max_states, _RESIDUE_STATES):  # one automaton of the residues
        residues = [r for r in range(common) if r % required == 0 and all(r % d for d in moduli)]
        return _meet(dfa, residue_automaton(common, residues), max_states)
    if required > 1:
        dfa = _meet(dfa, divisibility_dfa(required, max_states=max_states), max_states)
    for modulus in moduli:
        dfa = _remove(dfa, divisibility_dfa(modulus, max_states=max_states), max_states)
    return dfa


def _meet(left: CodePointDFA, right: CodePointDFA, max_states: int) -> CodePointDFA:
    return left.intersect(right, max_states=max_states).minimized()


def _remove(left: CodePointDFA, right: CodePointDFA, max_states: int) -> CodePointDFA:
    return left.difference(right, max_states=max_states).minimized()
