"""The profile kind's row in a page's provenance table: how py-spy recorded, in words a reader can check.

The effective rate is the busiest thread's samples over the measured wall time (the contract's
definition); the row names it for what it is in each recording, beside py-spy's sampling instants.
"""

from __future__ import annotations

from labkit import formats
from labkit.records import Profile


def provenance(step: str, prof: Profile) -> list[list[str]]:
    method = "attached by PID" if prof["method"] == "pid" else "launched under py-spy"
    return [
        [
            f"Profile: {formats.html_text(prof.get('title') or step)}",
            f"{method}, {rates_in_words(prof)}, {formats.count(prof['samples'])} samples in "
            f"{formats.seconds(prof['wall_s'])}" + _looks(prof),
        ]
    ]


def rates_in_words(prof: Profile) -> str:
    """The requested rate, py-spy's sampling instants and the effective rate, named for what it is.

    The effective rate is the busiest thread's samples per second: py-spy's own rate only when that
    thread was kept at every instant; where py-spy dropped idle threads (or all but the GIL's), it says
    how often the busiest thread was kept, not how often py-spy sampled.
    """
    asked = f"{prof['rate_hz']} Hz requested ({formats.count(prof['instants'])} sampling instants)"
    rate = formats.rate(prof["effective_rate_hz"])
    if prof["threads_every_instant"]:
        return f"{asked}, {rate} effective"
    return f"{asked}, busiest thread kept at {rate}"


def _looks(prof: Profile) -> str:
    """How adaptive sampling chose the samples: the looks taken and why they sufficed."""
    adaptive = prof.get("adaptive")
    if not adaptive:
        return ""
    looks = " + ".join(f"{look['duration_s']} s" for look in prof["looks"])
    return (
        f"; adaptive: looks of {looks} (at most {adaptive['max']} s): {formats.html_text(adaptive['reason'])}"
    )
