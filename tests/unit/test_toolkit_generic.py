"""The toolkit is a generator: no module may name a lab, its programs or its functions.

Everything lab-specific lives in labs/<id>.yml, labs/<folders>/ and docs/labs/<id>/.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.helpers import ROOT

TOOLKIT = ROOT / "scripts" / "labkit"


def lab_words() -> set[str]:
    """Lab ids, program folder names and every function a lab's programs define."""
    words: set[str] = set()
    for manifest in (ROOT / "labs").glob("lab-*.yml"):
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
        words.add(data["id"])
        for folder in data["programs"]:
            words.add(Path(folder).name)
            for source in (ROOT / folder).rglob("*.py"):
                words |= set(re.findall(r"^\s*def ([A-Za-z_]\w+)", source.read_text(encoding="utf-8"), re.M))
    # A lab's distinctive names: ids, folders and functions with an underscore inside
    # (find_duplicates_slow, update_shared_state); plain words (load, work, spread) and dunders say
    # nothing about a lab, and toolkit vocabulary (a step kind, a kernel setting) is shared on purpose.
    generic = {"main", "run", "parse_args", "describe", "benchmark", "ptrace_scope", "load"}
    return {
        w
        for w in words
        if w not in generic and not w.startswith("__") and (w.startswith("lab-") or "_" in w.strip("_"))
    }


def test_no_toolkit_module_names_a_lab() -> None:
    words = lab_words()
    assert "find_duplicates_slow" in words and "lab-1" in words  # the scan sees Lab 1's names
    found = []
    for module in sorted(TOOLKIT.glob("*.py")):
        if module.name == "scaffold.py":
            continue  # it writes a new lab's files, with names of its own
        text = module.read_text(encoding="utf-8")
        found += [
            f"{module.name}: {w}"
            for w in sorted(words)
            if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)
        ]
    assert found == []
