"""A small, safe arithmetic language for formula measures and status rules.

A formula is a Python expression read with `ast` and checked against a whitelist: numbers, names, + - * /,
parentheses, comparisons, `and`/`or`, and the functions min, max and abs. Nothing else parses: no attribute
access, no other calls, no subscripts, no lambdas, no strings. `eval` is never used; the tree is walked here.

Measure keys may hold hyphens (`relationship-nps`), so a hyphen between a name and what follows it without
spaces is part of the name: write `a - b` with spaces to subtract. A key that is a Python keyword (`return`,
`yield`, `pass`) is a name too; only the language's own words (and, or, and those it refuses) are not.
"""

from __future__ import annotations

import ast
import keyword
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MAX_LENGTH = 1000  # a formula longer than this is a program, not a KPI formula; it also bounds the parser's depth

FUNCTIONS: dict[str, Callable[..., float]] = {"min": min, "max": max, "abs": abs}

_ARITHMETIC: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}
_SIGNS: dict[type[ast.unaryop], Callable[[float], float]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_COMPARISONS: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_SYMBOLS = {ast.Pow: "**", ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
            ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>", ast.Not: "not", ast.Invert: "~",
            ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}


# Python would not read a hyphenated key or a key such as `return` as a name, so before parsing each such word
# is disguised as an identifier of the same length (so a syntax error's position still points into what the
# user wrote), with this letter that no key has, and put back in the tree after.
_MARK = "ǂ"
_WORD = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:-\w+)*")
_KEYWORDS_AS_NAMES = frozenset(keyword.kwlist) - {"and", "or", "not", "in", "is", "if", "else", "lambda", "True",
                                                  "False", "None"}


class FormulaError(ValueError):
    """A formula that does not parse or cannot be evaluated, said as a sentence."""


@dataclass(frozen=True)
class Formula:
    """A checked formula: its text, its tree, and the names it reads in order of first use."""

    text: str
    tree: ast.Expression
    names: tuple[str, ...]


def parse_formula(text: str) -> Formula:
    """Parse and check a formula against the whitelist; FormulaError says what is not allowed and where."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("the formula is empty: write an expression such as 'refunds / orders * 100'")
    text = text.strip()  # eval mode refuses leading spaces as an indent; offsets below count from here
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(text)} characters long; keep it under {MAX_LENGTH}")
    if _MARK in text:
        raise FormulaError(f"the formula '{text}' has the character '{_MARK}', which no measure key has")
    disguised: dict[str, str] = {}
    written = _WORD.sub(lambda match: _disguise(match.group(), disguised), text)
    try:
        tree = ast.parse(written, mode="eval")
    except SyntaxError as error:
        raise FormulaError(f"the formula '{text}' is not an expression ({error.msg}, at character "
                           f"{error.offset or 1}): use numbers, measure keys, + - * /, parentheses, comparisons, "
                           "and, or, min, max and abs") from None
    except ValueError:  # the only one CPython raises here is for a null byte
        raise FormulaError(f"the formula '{text}' holds a null byte; type it again without it") from None
    except (RecursionError, MemoryError):
        raise FormulaError(f"the formula '{text[:40]}…' is nested too deeply to read; simplify it") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            node.id = disguised.get(node.id, node.id)
    names: list[str] = []
    try:
        _check(tree.body, text, names)
    except RecursionError:  # '------1' parses flat in CPython but nests a thousand deep
        raise FormulaError(f"the formula '{text[:40]}…' is nested too deeply to read; simplify it") from None
    return Formula(text=text, tree=tree, names=tuple(names))


def _disguise(word: str, disguised: dict[str, str]) -> str:
    """A hyphenated word or a keyword key as an identifier of the same length; other words as they are."""
    if "-" in word:
        identifier = word.replace("-", _MARK)
    elif word in _KEYWORDS_AS_NAMES:
        identifier = _MARK + word[1:]
    else:
        return word
    disguised[identifier] = word
    return identifier


def _check(node: ast.AST, text: str, names: list[str]) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise FormulaError(f"the formula '{text}' has a value that is not a number (text, True, False or None); "
                               "only numbers may appear in a formula")
        if abs(node.value) > 1e300:
            raise FormulaError(f"the formula '{text}' has a number too large to compute with")
        return
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise FormulaError(f"the formula '{text}' names the function '{node.id}' without calling it: "
                               f"write {node.id}(a, b)")
        if node.id not in names:
            names.append(node.id)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        children: list[ast.AST] = [node.left, node.right]
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _SIGNS:
        children = [node.operand]
    elif isinstance(node, ast.BoolOp):  # only And and Or exist
        children = list(node.values)
    elif isinstance(node, ast.Compare) and all(type(op) in _COMPARISONS for op in node.ops):
        children = [node.left, *node.comparators]
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
          and not node.keywords and not any(isinstance(arg, ast.Starred) for arg in node.args)):
        if node.func.id == "abs" and len(node.args) != 1:
            raise FormulaError(f"the formula '{text}' calls abs with {len(node.args)} values; abs takes one")
        if node.func.id != "abs" and len(node.args) < 2:
            raise FormulaError(f"the formula '{text}' calls {node.func.id} with {len(node.args)} value(s); "
                               "give it two or more")
        children = list(node.args)
    else:
        raise FormulaError(f"the formula '{text}' uses {_describe(node)}, which a formula cannot; use numbers, "
                           "measure keys, + - * /, parentheses, comparisons, and, or, min, max and abs")
    for child in children:
        _check(child, text, names)


def _describe(node: ast.AST) -> str:
    """The offending construct in words, for the error."""
    if isinstance(node, ast.Call):
        called = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        if called in FUNCTIONS:
            return f"{called}() with a keyword or a starred argument"
        return f"the call {called}()"
    if isinstance(node, ast.Attribute):
        return f"the attribute '.{node.attr}'"
    if isinstance(node, ast.Subscript):
        return "a subscript ([...])"
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return f"the operator '{_SYMBOLS.get(type(node.op), type(node.op).__name__)}'"
    if isinstance(node, ast.Compare):
        bad = next(op for op in node.ops if type(op) not in _COMPARISONS)
        return f"the operator '{_SYMBOLS.get(type(bad), type(bad).__name__)}'"
    return f"'{ast.unparse(node)}'"


def evaluate(formula: Formula, values: Mapping[str, float]) -> float:
    """The formula's value for these named values; a comparison or and/or that holds is 1, one that fails 0."""
    for name in formula.names:
        if name not in values:
            spaced = " (to subtract, put spaces around the minus)" if "-" in name else ""
            raise FormulaError(f"the formula uses '{name}', which is not a measure of this scorecard{spaced}")
        if values[name] is None:
            raise FormulaError(f"the formula reads '{name}', which has no value for this period")
    try:
        result = _value(formula.tree.body, values, formula.text)
    except RecursionError:
        raise FormulaError(f"the formula '{formula.text[:40]}…' is nested too deeply to compute; simplify it") from None
    if not math.isfinite(result):
        raise FormulaError(f"the formula '{formula.text}' gives {result}, not a number; check its inputs")
    return float(result)


def _value(node: ast.AST, values: Mapping[str, float], text: str) -> float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return float(values[node.id])
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left, values, text), _value(node.right, values, text)
        if isinstance(node.op, ast.Div) and right == 0:
            raise FormulaError(f"the formula '{text}' divides by zero ({ast.unparse(node.right)} is 0)")
        return _ARITHMETIC[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return _SIGNS[type(node.op)](_value(node.operand, values, text))
    if isinstance(node, ast.BoolOp):
        # Python's own short-circuit: `a and b` is a when a is 0, else b; `a or b` is a when a is not 0, else b.
        result = _value(node.values[0], values, text)
        for operand in node.values[1:]:
            if (not result) if isinstance(node.op, ast.And) else bool(result):
                break
            result = _value(operand, values, text)
        return result
    if isinstance(node, ast.Compare):
        left = _value(node.left, values, text)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _value(comparator, values, text)
            if not _COMPARISONS[type(op)](left, right):
                return 0.0
            left = right
        return 1.0
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # _check let nothing else through
    return float(FUNCTIONS[node.func.id](*(_value(arg, values, text) for arg in node.args)))
