"""Exclusion rules (the filter macro): rule-file syntax, and globs checked
against a plain recursive matcher on generated values and patterns."""

from __future__ import annotations

import functools

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sysmon_hunt import exclusions
from sysmon_hunt.exclusions import Condition, Rule


def naive_glob(glob: str, value: str) -> bool:
    """`*` any run, `?` one character, ASCII letters compared case-free."""

    def same(a: str, b: str) -> bool:
        fold = lambda c: c.lower() if c.isascii() else c  # noqa: E731
        return fold(a) == fold(b)

    @functools.lru_cache(maxsize=None)
    def match(i: int, j: int) -> bool:
        if i == len(glob):
            return j == len(value)
        if glob[i] == "*":
            return match(i + 1, j) or (j < len(value) and match(i, j + 1))
        if j == len(value):
            return False
        return (glob[i] == "?" or same(glob[i], value[j])) and match(i + 1, j + 1)

    return match(0, 0)


ALPHABET = st.sampled_from(list("aAbBzZ*?.\\:[]()^$+{}|-_ \n\u212a\u017fkKsSéÉДд🎉"))


@given(glob=st.text(ALPHABET, max_size=12), value=st.text(ALPHABET, max_size=16))
@example(glob="k", value="\u212a")  # the Kelvin sign is not `k` in ASCII folding
@example(glob="S", value="\u017f")  # nor is the long s `s`
@example(glob="é", value="É")  # non-ASCII letters keep their case
@example(glob="a*b?", value="A\nxBy")  # `*` and `?` also match line ends
@example(glob="[a]", value="a")  # regex syntax is literal
def test_glob_matches_like_the_naive_matcher(glob: str, value: str) -> None:
    assert bool(exclusions.glob_regex(glob).fullmatch(value)) == naive_glob(glob, value)


def test_rule_file_syntax() -> None:
    text = (
        "# known-good downloads\n"
        "\n"
        "Computer=BUILD-*   TargetFilename=*.iso:Zone.Identifier  # two conditions\n"
        '  Image="*\\Telegram Desktop\\Telegram.exe" process_id=4#2\n'
        'Hash=""\n'
        "TargetFilename=C:\\a\\b#c\n"
    )
    rules = exclusions.parse_rules(text, "good.rules")
    assert rules == [
        Rule((Condition("Computer", "BUILD-*"), Condition("TargetFilename", "*.iso:Zone.Identifier")), "good.rules:3"),
        Rule((Condition("Image", "*\\Telegram Desktop\\Telegram.exe"), Condition("process_id", "4#2")), "good.rules:4"),
        Rule((Condition("Hash", ""),), "good.rules:5"),
        Rule((Condition("TargetFilename", "C:\\a\\b#c"),), "good.rules:6"),
    ]


@pytest.mark.parametrize("line", ["Computer", "=x", 'Computer="a b', 'Computer=a"b', 'Computer="a"b', "a=b c"])
def test_rule_file_errors_name_the_line(line: str) -> None:
    with pytest.raises(ValueError, match=r"^r\.rules:2: "):
        exclusions.parse_rules("# ok\n" + line + "\n", "r.rules")


def test_command_line_condition_keeps_spaces_and_equals() -> None:
    assert exclusions.parse_condition("Image=*\\Telegram Desktop\\x=y.exe") == Condition(
        "Image", "*\\Telegram Desktop\\x=y.exe"
    )
    assert exclusions.parse_condition(" Hash = x") == Condition("Hash", " x")


def test_apply_needs_every_condition_of_a_rule() -> None:
    by = ("Computer", "Image")
    hits = [("a", "x", 1), ("a", "y", 1), ("b", "x", 1)]
    users = [("u1",), (), ("u2",)]
    rule = Rule((Condition("Computer", "A"), Condition("Image", "x")))
    assert exclusions.apply(hits, users, [rule], by) == ([("a", "y", 1), ("b", "x", 1)], [(), ("u2",)], 1)
    either = [Rule((Condition("Image", "x"),)), Rule((Condition("Computer", "?"),))]
    assert exclusions.apply(hits, None, either, by) == ([], None, 3)
    with pytest.raises(ValueError, match="unknown field 'Hash'"):
        exclusions.apply(hits, None, [Rule((Condition("Hash", "*"),))], by)
