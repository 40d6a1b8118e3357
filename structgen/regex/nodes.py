"""Small constructors over :mod:`structgen.regex.ast` that keep trees flat and simple.

``NOTHING`` (the empty character set) is the regex that matches no string; the constructors
propagate it (``concat(x, NOTHING)`` is ``NOTHING``) so emptiness stays visible.
"""

from __future__ import annotations

from structgen.regex.ast import MAX_CODE_POINT, Alt, CharSet, Concat, Empty, Node, Repeat

NOTHING = CharSet(())
EMPTY = Empty()
ANY_CHAR = CharSet.of([(0, MAX_CODE_POINT)]).without_surrogates()
DIGIT = CharSet.of([(0x30, 0x39)])
NONZERO_DIGIT = CharSet.of([(0x31, 0x39)])


def is_nothing(node: Node) -> bool:
    return isinstance(node, CharSet) and not node.ranges


def char(code_point: int | str) -> CharSet:
    value = ord(code_point) if isinstance(code_point, str) else code_point
    return CharSet(((value, value),))


def literal(text: str) -> Node:
    return concat(*(char(c) for c in text))


def concat(*parts: Node) -> Node:
    flat: list[Node] = []
    for part in parts:
        if isinstance(part, CharSet):
            if not part.ranges:
                return NOTHING
            flat.append(part)
        elif isinstance(part, Concat):
            flat.extend(part.parts)
        elif not isinstance(part, Empty):
            flat.append(part)
    if not flat:
        return EMPTY
    return flat[0] if len(flat) == 1 else Concat(tuple(flat))


def alt(*options: Node) -> Node:
    flat: list[Node] = []
    chars: CharSet | None = None
    seen: set[int] = set()  # by identity: hashing a large tree costs its size, every time
    has_empty = False
    for option in options:
        for item in option.options if isinstance(option, Alt) else (option,):
            if isinstance(item, CharSet):
                if item.ranges:
                    chars = item if chars is None else chars.union(item)
                continue
            if isinstance(item, Empty):
                if not has_empty:
                    has_empty = True
                    flat.append(item)
                continue
            if id(item) not in seen:
                seen.add(id(item))
                flat.append(item)
    if chars is not None:
        flat.insert(0, chars)
    if not flat:
        return NOTHING
    return flat[0] if len(flat) == 1 else Alt(tuple(flat))


def repeat(node: Node, low: int, high: int | None) -> Node:
    if high is not None and high < low:
        return NOTHING
    if is_nothing(node):
        return EMPTY if low == 0 else NOTHING
    if isinstance(node, Empty) or high == 0:
        return EMPTY
    if low == 1 and high == 1:
        return node
    return Repeat(node, low, high)


def optional(node: Node) -> Node:
    return repeat(node, 0, 1)


def star(node: Node) -> Node:
    return repeat(node, 0, None)


def is_empty_language(node: Node) -> bool:
    """Whether ``node`` matches no string at all (exact for this AST, which has no intersection)."""
    if isinstance(node, CharSet):
        return not node.ranges
    if isinstance(node, Empty):
        return False
    if isinstance(node, Concat):
        return any(is_empty_language(part) for part in node.parts)
    if isinstance(node, Alt):
        return all(is_empty_language(option) for option in node.options)
    if isinstance(node, Repeat):
        return node.low > 0 and is_empty_language(node.node)
    raise TypeError(f"not a regex node: {node!r}")


def tree_size(node: Node, _cache: dict[int, int] | None = None) -> int:
    """Number of nodes once shared subtrees are expanded (what the NFA builder will build)."""
    cache = {} if _cache is None else _cache
    key = id(node)
    if key in cache:
        return cache[key]
    if isinstance(node, (CharSet, Empty)):
        size = 1
    elif isinstance(node, Concat):
        size = 1 + sum(tree_size(part, cache) for part in node.parts)
    elif isinstance(node, Alt):
        size = 1 + sum(tree_size(option, cache) for option in node.options)
    elif isinstance(node, Repeat):
        copies = max(node.low, 1) if node.high is None else max(node.high, 1)
        size = 1 + copies * tree_size(node.node, cache)
    else:
        raise TypeError(f"not a regex node: {node!r}")
    cache[key] = size
    return size


def depth(node: Node) -> int:
    """Nesting depth of ``node``, level by level (no recursion, so it works on deep trees; a
    subtree shared within a level is visited once there)."""
    level: dict[int, Node] = {id(node): node}
    found = 0
    while level:
        found += 1
        below: dict[int, Node] = {}
        has_children = False
        for current in level.values():
            if isinstance(current, Concat):
                children: tuple[Node, ...] = current.parts
            elif isinstance(current, Alt):
                children = current.options
            elif isinstance(current, Repeat):
                children = (current.node,)
            else:
                continue
            if children:
                has_children = True
            for child in children:
                if isinstance(child, _COMPOUND):
                    below[id(child)] = child
        if not below:
            return found + 1 if has_children else found
        level = below
    return found


_COMPOUND = (Concat, Alt, Repeat)


def nullable(node: Node) -> bool:
    """Whether ``node`` matches the empty string."""
    if isinstance(node, CharSet):
        return False
    if isinstance(node, Empty):
        return True
    if isinstance(node, Concat):
        return all(nullable(part) for part in node.parts)
    if isinstance(node, Alt):
        return any(nullable(option) for option in node.options)
    if isinstance(node, Repeat):
        return node.low == 0 or nullable(node.node)
    raise TypeError(f"not a regex node: {node!r}")


def without_empty(node: Node) -> Node:
    """The language of ``node`` minus the empty string."""
    if not nullable(node):
        return node
    if isinstance(node, Empty):
        return NOTHING
    if isinstance(node, Alt):
        return alt(*(without_empty(option) for option in node.options))
    if isinstance(node, Repeat):
        if nullable(node.node):
            inner = without_empty(node.node)
            return repeat(inner, 1, node.high) if node.high != 0 else NOTHING
        return repeat(node.node, max(node.low, 1), node.high)
    if isinstance(node, Concat):
        # Every part is nullable: the first non-empty part decides where the text starts.
        parts = node.parts
        return alt(*(concat(without_empty(parts[i]), *parts[i + 1 :]) for i in range(len(parts))))
    raise TypeError(f"not a regex node: {node!r}")


def first_chars(node: Node) -> CharSet:
    """The characters a non-empty match of ``node`` can start with."""
    if isinstance(node, CharSet):
        return node
    if isinstance(node, Empty):
        return NOTHING
    if isinstance(node, Alt):
        found = NOTHING
        for option in node.options:
            found = found.union(first_chars(option))
        return found
    if isinstance(node, Repeat):
        return NOTHING if node.high == 0 else first_chars(node.node)
    if isinstance(node, Concat):
        found = NOTHING
        for part in node.parts:
            if is_empty_language(part):
                return NOTHING
            found = found.union(first_chars(part))
            if not nullable(part):
                break
        return found
    raise TypeError(f"not a regex node: {node!r}")
