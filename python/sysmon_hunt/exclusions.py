"""Exclusion rules: the file-world ``download_files_using_telegram_filter``.

Splunk applies the filter macro after ``stats``, so rules drop whole hits
(aggregated rows), never single events, and counts and times of the hits
that stay are untouched. A rule is one or more conditions ``FIELD=GLOB``
that must all hold for a hit to be excluded; a hit is excluded when any rule
holds. ``FIELD`` is one of the scan's by-fields; ``GLOB`` is matched against
the whole value, ASCII case-insensitively as Splunk compares field values,
with ``*`` any run of characters (none included) and ``?`` exactly one.

Rule files (``--exclude-file``) hold one rule per line: conditions separated
by white space, a glob holding white space written in double quotes
(``Image="*\\Telegram Desktop\\*"``; backslashes are literal, a ``"`` cannot
be written), blank lines ignored, ``#`` starting a comment where a condition
could start.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from .results import HitRow, ScanResult

__all__ = ["Condition", "Rule", "parse_condition", "parse_rules", "read_rules", "as_rules", "apply"]


class Condition(NamedTuple):
    field: str
    glob: str


class Rule(NamedTuple):
    """Conditions that must all hold; `origin` says where the rule was written."""

    conditions: Tuple[Condition, ...]
    origin: str = "rule"


RuleArg = Union[str, Mapping[str, str], Rule]


def parse_condition(text: str, origin: str = "rule") -> Condition:
    """``FIELD=GLOB``; everything after the first ``=`` is the glob."""
    field, equals, glob = text.partition("=")
    field = field.strip()
    if not equals or not field:
        raise ValueError(f"{origin}: expected FIELD=GLOB, got {text!r}")
    return Condition(field, glob)


#: One condition in a rule file: FIELD=GLOB or FIELD="GLOB WITH SPACES".
#: Compiled on first use (by `re`'s cache): compiling it cost ~4 ms of every import.
_FILE_CONDITION = r'([^\s="#][^\s=]*)=(?:"([^"]*)"(?=\s|$)|([^\s"]*)(?=\s|$))'


def parse_rules(text: str, name: str = "<rules>") -> List[Rule]:
    """The rules of a rule file's text (see the module docs); errors name the line."""
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        origin = f"{name}:{number}"
        conditions = []
        at = 0
        while True:
            while at < len(line) and line[at].isspace():
                at += 1
            if at == len(line) or line[at] == "#":
                break
            match = re.compile(_FILE_CONDITION).match(line, at)
            if match is None:
                rest = line[at:].split()[0]
                raise ValueError(f'{origin}: expected FIELD=GLOB or FIELD="GLOB", got {rest!r}')
            glob = match.group(2) if match.group(2) is not None else match.group(3)
            conditions.append(Condition(match.group(1), glob))
            at = match.end()
        if conditions:
            rules.append(Rule(tuple(conditions), origin))
    return rules


def read_rules(path: str) -> List[Rule]:
    """The rules of a rule file (UTF-8, a BOM allowed)."""
    with open(path, encoding="utf-8-sig") as handle:
        return parse_rules(handle.read(), path)


def as_rules(exclude: Union[None, RuleArg, Iterable[RuleArg]]) -> List[Rule]:
    """The API's ``exclude``: rules, each a ``"FIELD=GLOB"`` string (one
    condition), a mapping ``{FIELD: GLOB, ...}`` (all must hold) or a `Rule`;
    one of them alone or an iterable of them."""
    if exclude is None:
        return []
    if isinstance(exclude, (str, Mapping, Rule)):
        exclude = [exclude]
    rules = []
    for item in exclude:
        if isinstance(item, Rule):
            rules.append(item)
        elif isinstance(item, str):
            rules.append(Rule((parse_condition(item),), item))
        elif isinstance(item, Mapping):
            if not item:
                raise ValueError("an exclusion rule needs at least one FIELD: GLOB")
            conditions = tuple(Condition(str(k), str(v)) for k, v in item.items())
            rules.append(Rule(conditions, " ".join(f"{c.field}={c.glob}" for c in conditions)))
        else:
            raise TypeError(f"an exclusion rule is a 'FIELD=GLOB' str, a mapping or a Rule, not {type(item).__name__}")
    return rules


def glob_regex(glob: str) -> "re.Pattern[str]":
    """`glob` as a regex for `fullmatch`: ``*`` and ``?`` wild, the rest literal,
    ASCII letters case-insensitive (``re.ASCII`` keeps ``K`` from matching the
    Kelvin sign)."""
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob]
    return re.compile("".join(parts), re.ASCII | re.IGNORECASE | re.DOTALL)


def _compile(rules: Sequence[Rule], by_fields: Sequence[str]) -> List[List[Tuple[int, "re.Pattern[str]"]]]:
    compiled = []
    for rule in rules:
        tests = []
        for condition in rule.conditions:
            if condition.field not in by_fields:
                raise ValueError(
                    f"{rule.origin}: unknown field {condition.field!r} (the hits' fields are: {', '.join(by_fields)})"
                )
            tests.append((list(by_fields).index(condition.field), glob_regex(condition.glob)))
        compiled.append(tests)
    return compiled


def check(rules: Sequence[Rule], by_fields: Sequence[str]) -> None:
    """Raise ValueError if a rule names a field that is not a by-field."""
    _compile(rules, by_fields)


def apply(
    hits: Sequence[HitRow],
    users: Optional[Sequence[Tuple[str, ...]]],
    rules: Sequence[Rule],
    by_fields: Sequence[str],
) -> Tuple[List[HitRow], Optional[List[Tuple[str, ...]]], int]:
    """The hits (and their users, if any) that no rule excludes, and how many were."""
    compiled = _compile(rules, by_fields)
    if not compiled:
        return list(hits), None if users is None else list(users), 0
    kept, kept_users = [], []
    for i, hit in enumerate(hits):
        if any(all(regex.fullmatch(hit[index]) for index, regex in tests) for tests in compiled):
            continue
        kept.append(hit)
        if users is not None:
            kept_users.append(users[i])
    return kept, None if users is None else kept_users, len(hits) - len(kept)


def exclude(result: "ScanResult", rules: Sequence[Rule]) -> "ScanResult":
    """`result` without the hits that `rules` exclude, `stats.excluded`
    counting them (`result` itself when there are no rules)."""
    if not rules:
        return result
    hits, users, excluded = apply(result, result.users, rules, result.by_fields)
    stats = result.stats._replace(excluded=excluded)
    return ScanResult(hits, stats, by_fields=result.by_fields, users=users)
