"""What a reader reads instead of the toolkit's words: verdicts, dates, step titles, claim counts.

A claim's verdict (holds, fails, undecided, cited) is the toolkit's; next to what the page expects
(holds or fails) it becomes one of a few phrases a reader takes in at a glance. A refuted statement
the page calls refuted is not a failure: it reads "refuted, as this page says".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from labkit.manifest import Step

CONFIRMED = "✓ confirmed"
REFUTED = "✓ refuted, as this page says"
CITED = "cited"
CITED_REFUTED = "cited: refuted, as this page says"
MISMATCH = "✗ mismatch"
SAID = {"holds": "holds", "fails": "does not hold", "undecided": "undecided"}


def verdict(got: str, expect: str) -> str:
    """The verdict in words: confirmed, refuted as the page says, cited, or a mismatch that says how."""
    if got == "cited":
        return CITED_REFUTED if expect == "fails" else CITED
    if got == expect:
        return CONFIRMED if got == "holds" else REFUTED
    return f"{MISMATCH}: {SAID.get(got, got)} (this page says it {SAID.get(expect, expect)})"


def agrees(claim: Mapping[str, Any]) -> bool:
    """Whether a claim came out as its page says (a cited claim is the source's word: it does)."""
    return bool(claim["verdict"] == "cited" or claim["verdict"] == claim["expect"])


@dataclass(frozen=True)
class Tally:
    agree: int
    total: int
    cited: int

    def __str__(self) -> str:
        cited = f" ({self.cited} cited)" if self.cited else ""
        return f"{self.agree} of {self.total} as its pages say{cited}"


def tally(claims: Iterable[Mapping[str, Any]]) -> Tally:
    """Every claim counted, cited ones included, and how many are cited."""
    listed = list(claims)
    return Tally(
        agree=sum(agrees(c) for c in listed),
        total=len(listed),
        cited=sum(c["verdict"] == "cited" for c in listed),
    )


def date(stamp: str) -> str:
    """An ISO time such as 2026-12-02T14:27:09Z as a person reads it: "2 December 2026, 14:27 UTC"."""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return f"{when.day} {when:%B %Y, %H:%M} UTC"


def step_title(steps: Sequence[Step], step_id: str) -> str:
    """A step's title from its manifest; a step with none is described (a stop step by what it stops)."""
    by_id = {step.id: step for step in steps}
    step = by_id.get(step_id)
    if step is None:
        return step_id
    if step.title:
        return step.title
    if step.stop:  # a stop step, described by what it stops
        return "Stop " + " and ".join(_lower(step_title(steps, s)) for s in step.stop)
    return f"A {step.kind} step"


def _lower(title: str) -> str:
    """A title inside a sentence: its first letter lower-cased unless the word is a name (e.g. "GIL")."""
    word = title.split(" ", 1)[0]
    return title if word[1:2].isupper() or not word[:1].isupper() else title[:1].lower() + title[1:]
