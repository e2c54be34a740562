"""What a `/` filter in the pods view asks for, as k9s reads it: `text` (a case-insensitive
substring of what the row shows), `!text` (every pod it does not match) and `-l selector` (a
Kubernetes label selector: `app=web,tier!=db`, `team`, `!team`, `env in (a,b)`, `env notin (a)`).

Pure (no Textual): the table applies a `PodQuery` pod by pod. Why our own selector parser: the
`kubernetes` client only sends a selector to the API server; it cannot match one against the
pods we hold, and the grammar is small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

# one requirement of a selector, as the API server's labels.Parse reads it
_REQUIREMENT = re.compile(
    r"""\s*(?:
        (?P<not>!)\s*(?P<absent>[^\s,=!()]+)                                  # !key
      | (?P<setkey>[^\s,=!()]+)\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\)  # key in (a,b)
      | (?P<key>[^\s,=!()]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[^\s,=!()]*))?  # key, key=v, key!=v
    )\s*(?:,|$)""",
    re.VERBOSE,
)

Requirement = Callable[[Mapping[str, str]], bool]


@dataclass(frozen=True)
class PodQuery:
    """A parsed filter. `text`: the substring (lower case); `inverse`: keep what does not match;
    `selector`: the label requirements; `error`: why the selector could not be read (the query
    then filters nothing, and the view says why); `source`: what was typed."""

    source: str = ""
    text: str = ""
    inverse: bool = False
    selector: tuple[Requirement, ...] = field(default=(), compare=False)
    error: str | None = None

    @property
    def active(self) -> bool:
        """Whether it filters anything out."""
        return self.error is None and bool(self.text or self.selector)

    def matches(self, hay: str, labels: Mapping[str, str]) -> bool:
        """`hay`: the row's words in lower case; `labels`: the pod's labels."""
        if not self.active:
            return True
        if self.selector:
            return all(requirement(labels) for requirement in self.selector)
        return (self.text in hay) != self.inverse


def parse(typed: str) -> PodQuery:
    """The filter as typed after `/` (surrounding blanks ignored)."""
    source = typed
    typed = typed.strip()
    if typed == "-l" or typed.startswith(("-l ", "-l\t")):
        selector = typed[2:].strip()
        if not selector:
            return PodQuery(source, error="-l needs a label selector, e.g. -l app=web")
        try:
            return PodQuery(source, selector=parse_selector(selector))
        except ValueError as problem:
            return PodQuery(source, error=str(problem))
    if typed.startswith("!"):
        text = typed[1:].strip().lower()
        return PodQuery(source, text=text, inverse=bool(text))
    return PodQuery(source, text=typed.lower())


def parse_selector(selector: str) -> tuple[Requirement, ...]:
    """`app=web,tier!=db,team,!legacy,env in (a,b)` → one test per requirement; ValueError with
    the part that could not be read."""
    requirements: list[Requirement] = []
    at = 0
    while at < len(selector):
        found = _REQUIREMENT.match(selector, at)
        if found is None or found.end() == at:
            raise ValueError(f"cannot read the label selector at “{selector[at:][:30]}”")
        at = found.end()
        if found["absent"]:
            requirements.append(_absent(found["absent"]))
        elif found["setkey"]:
            values = frozenset(v.strip() for v in found["values"].split(",") if v.strip())
            requirements.append(_in(found["setkey"], values, found["setop"] == "notin"))
        elif found["op"]:
            requirements.append(_equals(found["key"], found["value"], found["op"] == "!="))
        else:
            requirements.append(_present(found["key"]))
    if not requirements:
        raise ValueError("empty label selector")
    return tuple(requirements)


def _absent(key: str) -> Requirement:
    return lambda labels: key not in labels


def _present(key: str) -> Requirement:
    return lambda labels: key in labels


def _equals(key: str, value: str, negated: bool) -> Requirement:
    # as the API server: `key!=v` also holds for pods without the label
    return lambda labels: (labels.get(key) == value) != negated


def _in(key: str, values: frozenset[str], negated: bool) -> Requirement:
    if negated:
        return lambda labels: labels.get(key) not in values
    return lambda labels: labels.get(key) in values
