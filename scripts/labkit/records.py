"""Typed records of results.json (its schema's sections), of a manifest's claims and of the soak summary.

``TypedDict``s: the data stay plain dicts, so no file changes; optional keys are in a ``total=False``
subclass (``NotRequired`` needs 3.11). tests/unit/test_records.py holds them to the schemas and the data.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

if TYPE_CHECKING:  # the kinds that own their records (they import this module)
    from labkit.kinds.compare import Compare
    from labkit.kinds.latency import Latency

# A JSON object shaped by someone else: a program's raw output, a speedscope file, a schema, a manifest.
JSONObject = dict[str, Any]
# What a value or a claim's measurement can be (results.schema.json: number, string, boolean or null).
Scalar = str | int | float | bool | None
Stat = Literal["min", "median", "max"]
STATS: tuple[Stat, Stat, Stat] = ("min", "median", "max")


# --- results.json, top level ---------------------------------------------------------------------------


class Environment(TypedDict):  # what, besides the inputs, can change a measurement
    python: str
    py_spy: str | None


class StepTime(TypedDict):
    id: str
    kind: str
    wall_s: float


class Machine(TypedDict):  # where a measurement was made (labkit.provenance.collect)
    python: str
    python_implementation: str
    py_spy: str | None
    os: str
    cpu_model: str
    cpu_count: int
    toolkit_commit: str


class Provenance(Machine):
    run_s: float
    steps: list[StepTime]
    seed: int | None
    quick: bool


class Value(TypedDict):  # an entry of the flat ``values`` map: every number a page shows
    value: Scalar
    format: str
    text: str


# what a claim's entry says before it is judged (copied from its manifest declaration)
class ClaimHead(TypedDict):
    id: str
    text: str
    page: str
    evidence: str  # measured, command or cited
    expect: str  # holds or fails
    reason: str
    source: str
    link: str


class _ClaimVerdict(ClaimHead):
    verdict: str  # holds, fails, undecided or cited
    rule: str
    shown: str


# an evaluated claim, as results.json has it; a cited or unmeasured one has no value
class Claim(_ClaimVerdict, total=False):
    value: Scalar
    interval: list[float] | None
    level: float | None


# --- the step kinds' sections ----------------------------------------------------------------------------


class Thread(TypedDict):
    name: str
    samples: int


# a function's samples and shares in one recording (labkit.stacks.functions)
class Shares(TypedDict):  # samples and shares of one thing (a function, a group) in one recording
    name: str
    self_samples: int
    total_samples: int
    self_share: float
    total_share: float
    self_ci: list[float]
    total_ci: list[float]


class FunctionShares(Shares):
    file: str
    line_frames: int


class Function(FunctionShares):  # a function of a profile: its shares, and its samples per sampling instant
    total_per_instant: float
    total_per_instant_ci: list[float]


class Look(TypedDict):
    duration_s: int
    wall_s: float
    samples: int


# a manifest step's ``adaptive``: a pilot look, then at most ``max`` seconds in all
class AdaptiveSpec(TypedDict):
    pilot: int
    max: int


class Adaptive(AdaptiveSpec):
    reason: str


class ProfileFiles(TypedDict):
    speedscope: str
    collapsed: str
    svg: str


# what one sanitised recording gives (labkit.kinds.profile.derive); ``svg`` only when asked
class Recording(TypedDict):
    samples: int
    share_samples: int
    threads: list[Thread]
    functions: list[FunctionShares]
    collapsed: str


class Derived(Recording, total=False):
    svg: str
    groups: list[FunctionGroup]


class Rates(TypedDict):  # the figures of a profile that divide by time or by sampling instants
    effective_rate_hz: float
    effective_rate_ci: list[float]
    instants: int
    thread_count: int
    threads_every_instant: int
    samples_per_instant: float


# a profile's settings and looks: what the run knows before anything is derived
class ProfileHead(TypedDict):
    title: str
    method: str  # pid or launch
    method_note: str
    rate_hz: int
    duration_s: int
    wall_s: float
    errors: int | None
    ci_level: float
    threads_filter: str
    looks: list[Look]
    adaptive: Adaptive | None
    command: list[str]
    py_spy_args: list[str]
    files: ProfileFiles


class FunctionGroup(Shares):  # a profile step's named group of functions (labkit.stacks.groups)
    pattern: str


class _ProfileBody(ProfileHead, Rates):
    samples: int
    share_samples: int
    threads: list[Thread]
    functions: list[Function]


class Profile(_ProfileBody, total=False):  # an entry of ``profiles``
    groups: list[FunctionGroup]  # only for a step that names groups


class Spread(TypedDict):
    min: float
    median: float
    max: float


class Calls(TypedDict):
    slow: int
    fast: int


class Slopes(TypedDict):  # the exponent from the size before to this one (null at the smallest size)
    slow: float | None
    fast: float | None


class SizePoint(TypedDict):  # one size of a benchmark that times several
    n: int
    number: Calls
    same_result: bool
    slow_s: Spread
    fast_s: Spread
    speedup: Spread
    local: Slopes


class Exponent(TypedDict):  # b in time ∝ n^b, fitted on log-log axes, with its bootstrap interval
    exponent: float
    exponent_ci: list[float]
    ci_level: float


class Scaling(TypedDict):  # how the times grow with n: one fit per version, and of their ratio
    method: str
    resamples: int
    slow: Exponent
    fast: Exponent
    speedup: Exponent


class BenchmarkSummary(TypedDict):  # what labkit.benchmark.summarise makes of a benchmark's raw times
    n: int  # the largest size: the headline figures are measured there
    repeats: int
    number: Calls
    same_result: bool
    slow_s: Spread
    fast_s: Spread
    speedup: Spread
    sizes: list[SizePoint]
    scaling: Scaling | None  # null with fewer than three sizes


class Benchmark(BenchmarkSummary):  # the ``benchmark`` section (or null)
    step: str
    raw: str
    plot: str | None  # the scaling plot's file (SVG), when there is a fit
    command: list[str]


class CommandOutput(TypedDict):  # what a claim can test in a command's output
    extracted: dict[str, str | int]
    result: object  # the last line as JSON, any JSON value; null unless the step asks for it


class CommandRun(TypedDict):  # how a command step ran, and what it asks of the output
    title: str
    command: list[str]
    exit_code: int | None
    file: str
    extract: dict[str, str]
    json: bool


class Command(CommandRun, CommandOutput):
    """An entry of ``commands``."""


# per-round values with their spread (overhead); min, median and max are null only with no values
class Series(TypedDict):
    values: list[float]
    min: float | None
    median: float | None
    max: float | None


class _OverheadHead(TypedDict):
    step: str
    title: str
    raw: str
    command: list[str]
    rate_hz: int
    window_s: int
    rounds: int
    ratios: dict[str, Series]
    stops_per_sample: dict[str, Series] | None
    batch_s: Series


class Overhead(_OverheadHead, total=False):  # the ``overhead`` section (or null)
    against: str  # the second mode: nonblocking (results from before the key) or native
    rates_hz: dict[str, Series]  # py-spy's samples ÷ the window's wall time, per profiled mode
    paused: dict[str, Series] | None  # per profiled mode: the share of the window the target was stopped


class Load(TypedDict):  # an entry of ``loads``: the load generator's own report is ``result``
    title: str
    raw: str
    command: list[str]
    result: JSONObject


class DumpThread(TypedDict):
    thread_name: str | None
    active: bool
    owns_gil: bool
    frames: int
    top: str | None


class DumpFiles(TypedDict):
    text: str
    json: str


class Dump(TypedDict):  # an entry of ``dumps``
    title: str
    files: DumpFiles
    threads: list[DumpThread]


class TopFiles(TypedDict):
    text: str
    svg: str


class Top(TypedDict):  # an entry of ``tops``
    title: str
    seconds: int
    files: TopFiles


# enough of the results to judge a claim on profiles (the adaptive planner has only these)
class HasProfiles(TypedDict):
    profiles: dict[str, Profile]


# results.json. A step kind registered from outside the toolkit adds its own section, untyped here
class Results(HasProfiles):
    schema_version: int
    lab: str
    title: str
    generated_at: str
    inputs_sha256: str
    quick: bool
    environment: Environment
    provenance: Provenance
    benchmark: Benchmark | None
    commands: dict[str, Command]
    overhead: Overhead | None
    loads: dict[str, Load]
    dumps: dict[str, Dump]
    tops: dict[str, Top]
    compares: dict[str, Compare]
    latencies: dict[str, Latency]
    busy_shares: dict[str, JSONObject]  # the busy kind's entries (labkit.kinds.busy)
    values: dict[str, Value]
    claims: list[Claim]


def as_results(data: object) -> Results:
    """The one place where JSON becomes ``Results``, unchecked: `resultfile.validate` checks it against the
    schema, and `check` and `assets` validate before they trust a field."""
    return cast(Results, data)


def load_results(text: str) -> Results:
    """results.json's text as ``Results`` (json.JSONDecodeError when it is no JSON)."""
    return as_results(json.loads(text))


class _ClaimSpecRequired(TypedDict):
    id: str
    text: str
    expect: str
    evidence: str


# a claim as a manifest declares it (manifest.schema.json); cited ones have no value, op or than
class ClaimSpec(_ClaimSpecRequired, total=False):
    page: str
    value: str  # a dotted path into results.json
    op: str
    than: float | str  # a number (or boolean), a text, or a path to another measurement
    tolerance: float
    factor: float
    format: str
    reason: str
    unit: str
    source: str
    cite: dict[str, str]  # a cited claim's checked citation: {path, snippet} in py-spy's source
    link: str
