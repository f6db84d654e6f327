import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.core.formula import FormulaError, evaluate, parse_formula


def value_of(text, **values):
    return evaluate(parse_formula(text), values)


# What the language does


@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", 7.0),
    ("(1 + 2) * 3", 9.0),
    ("refunds / orders * 100", 5.0),
    ("-refunds + +orders", 190.0),
    ("min(refunds, orders, 3)", 3.0),
    ("max(refunds, orders)", 200.0),
    ("abs(refunds - orders)", 190.0),
    ("orders >= 200", 1.0),
    ("orders > 200", 0.0),
    ("refunds < orders <= 200", 1.0),
    ("refunds == 10 and orders != 10", 1.0),
    ("refunds > 100 or orders > 100", 1.0),
    ("refunds > 100 or orders > 1000", 0.0),
    ("2.5e1", 25.0),
])
def test_evaluates_arithmetic_comparisons_and_functions(text, expected):
    assert value_of(text, refunds=10, orders=200) == expected


def test_names_lists_what_the_formula_reads_once_in_order_of_first_use():
    formula = parse_formula("max(nps_b2b, nps_b2c) - churn / nps_b2b")
    assert formula.names == ("nps_b2b", "nps_b2c", "churn")
    assert parse_formula("3 * 4").names == ()


def test_hyphenated_measure_keys_are_names_and_spaced_minus_subtracts():
    formula = parse_formula("relationship-nps * 2 - churn-rate")
    assert formula.names == ("relationship-nps", "churn-rate")
    assert evaluate(formula, {"relationship-nps": 30, "churn-rate": 5}) == 55.0
    assert value_of("orders - 1", orders=3) == 2.0
    assert value_of("1e-1 * orders", orders=30) == 3.0


def test_keys_that_are_python_keywords_are_names():
    formula = parse_formula("return / pass * 100 + yield - global")
    assert formula.names == ("return", "pass", "yield", "global")
    assert evaluate(formula, {"return": 5, "pass": 50, "yield": 2, "global": 1}) == 11.0
    assert value_of("max(return-rate, class) >= 3 and import", **{"return-rate": 3, "class": 1, "import": 1}) == 1.0


def test_a_syntax_error_points_into_what_was_written():
    with pytest.raises(FormulaError, match="at character 13"):
        parse_formula("return-rate )")


def test_spaces_around_the_formula_are_not_an_indent():
    assert value_of("  orders * 2 ", orders=3) == 6.0


def test_an_unspaced_minus_that_names_no_measure_says_how_to_subtract():
    with pytest.raises(FormulaError, match=re.escape("uses 'orders-1', which is not a measure of this scorecard "
                                                     "(to subtract, put spaces around the minus)")):
        value_of("orders-1", orders=3)


def test_functions_are_not_names():
    assert parse_formula("min(a, b) + abs(c)").names == ("a", "b", "c")


# What it refuses, in sentences


@pytest.mark.parametrize(("text", "words"), [
    ("orders.__class__", "the attribute '.__class__'"),
    ("__import__('os').system('ls')", "which a formula cannot"),
    ("open('/etc/passwd')", "the call open()"),
    ("orders[0]", "a subscript"),
    ("(lambda: 1)()", "which a formula cannot"),
    ("lambda: 1", "which a formula cannot"),
    ("2 ** 3", "the operator '**'"),
    ("7 // 2", "the operator '//'"),
    ("7 % 2", "the operator '%'"),
    ("not orders", "the operator 'not'"),
    ("orders in refunds", "the operator 'in'"),
    ("orders is refunds", "the operator 'is'"),
    ("1 if orders else 2", "which a formula cannot"),
    ("'text'", "only numbers may appear"),
    ("True", "only numbers may appear"),
    ("min", "names the function 'min' without calling it"),
    ("min(orders, key=refunds)", "keyword or a starred argument"),
    ("max(*orders)", "keyword or a starred argument"),
    ("abs(orders, refunds)", "abs takes one"),
    ("max()", "calls max with 0 value(s); give it two or more"),
    ("min(orders)", "calls min with 1 value(s)"),
    ("[orders]", "which a formula cannot"),
    ("(x := 1)", "which a formula cannot"),
    ("1" + "0" * 400, "too large"),
    ("orders +", "is not an expression"),
    ("orders = 1", "is not an expression"),
    ("orders\x00", "null byte"),
    ("", "the formula is empty"),
    ("   ", "the formula is empty"),
    ("1 + " * 300 + "1", "characters long"),
    ("(" * 250 + "1" + ")" * 250, "is not an expression"),
])
def test_refuses_anything_outside_the_whitelist_with_a_sentence(text, words):
    with pytest.raises(FormulaError, match=re.escape(words)):
        parse_formula(text)


def test_a_formula_error_is_a_value_error():
    assert issubclass(FormulaError, ValueError)


def test_unknown_name_says_it_is_not_a_measure():
    with pytest.raises(FormulaError, match="the formula uses 'x', which is not a measure of this scorecard"):
        value_of("x + orders", orders=1)


def test_a_name_without_a_value_for_the_period():
    with pytest.raises(FormulaError, match="reads 'orders', which has no value for this period"):
        value_of("orders + 1", orders=None)


@pytest.mark.parametrize("text", ["refunds / 0", "orders / (refunds - 10)", "1 / (orders - orders)"])
def test_division_by_zero_is_a_formula_error(text):
    with pytest.raises(FormulaError, match="divides by zero"):
        value_of(text, refunds=10, orders=200)


def test_overflow_is_a_formula_error_not_infinity():
    with pytest.raises(FormulaError, match="not a number"):
        value_of("big * big * big", big=1e200)


def test_deep_nesting_is_refused_or_computed_never_a_crash():
    text = "-" * 999 + "1"
    try:
        assert value_of(text) == -1.0
    except FormulaError as error:
        assert "nested too deeply" in str(error)


# Equals Python on random arithmetic

NAMES = ("a", "b", "c")
numbers = st.one_of(st.integers(0, 100).map(str), st.floats(0, 1000, allow_nan=False).map(repr))
leaves = st.one_of(st.sampled_from(NAMES), numbers)


def _combine(children):
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "and", "or"]),
                       children)
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        binary.map(lambda t: f"{t[0]} {t[1]} {t[2]}"),  # precedence as Python reads it
        children.map(lambda x: f"-{x}"),
        children.map(lambda x: f"abs({x})"),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: f"min({', '.join(xs)})"),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: f"max({', '.join(xs)})"),
    )


expressions = st.recursive(leaves, _combine, max_leaves=12)
values = st.fixed_dictionaries({name: st.floats(-1000, 1000, allow_nan=False) for name in NAMES})


@given(expressions, values)
def test_evaluation_equals_python_for_the_same_numbers(text, named):
    try:
        expected = eval(text, {"__builtins__": {}, "min": min, "max": max, "abs": abs}, dict(named))
    except ZeroDivisionError:
        with pytest.raises(FormulaError, match="divides by zero"):
            evaluate(parse_formula(text), named)
        return
    if not math.isfinite(expected):
        with pytest.raises(FormulaError, match="not a number"):
            evaluate(parse_formula(text), named)
        return
    assert evaluate(parse_formula(text), named) == float(expected)
