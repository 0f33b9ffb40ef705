"""Which loaded libraries carry a full symbol table: the C library and NumPy's extension, as loaded here.

py-spy names a native frame from the library's symbols. A library "stripped" for shipping keeps only
the dynamic symbols it exports (``.dynsym``) and drops the full table (``.symtab``) that also names its
internal functions. This program loads NumPy, finds both libraries in its own memory map
(/proc/self/maps) and reads their ELF section headers; it prints a line per library and NumPy's
version, then one JSON line.

    python labs/native_service/symbols.py
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy  # loads NumPy's extension into this process


def sections(path: Path) -> list[str]:
    """The section names of a 64-bit little-endian ELF file ([] for any other kind)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return []
        (shoff,) = struct.unpack_from("<Q", head, 0x28)
        entsize, count, names_at = struct.unpack_from("<HHH", head, 0x3A)
        f.seek(shoff)
        table = f.read(entsize * count)
        headers = [struct.unpack_from("<IIQQQQ", table, i * entsize) for i in range(count)]
        _, _, _, _, offset, size = headers[names_at]
        f.seek(offset)
        names = f.read(size)
    return [names[h[0] : names.index(b"\0", h[0])].decode("ascii", "replace") for h in headers]


def loaded(fragment: str) -> Path | None:
    """The first file mapped into this process whose name contains ``fragment``."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and fragment in Path(parts[5]).name:
            return Path(parts[5])
    return None


def main() -> int:
    found = {}
    for key, fragment in (("libc", "libc.so"), ("numpy", "_multiarray_umath")):
        path = loaded(fragment)
        names = sections(path) if path else []
        found[key] = {
            "file": path.name if path else None,
            "symtab": ".symtab" in names if names else None,
            "dynsym": ".dynsym" in names if names else None,
        }
        print(f"{key}: {found[key]['file']}: .symtab {found[key]['symtab']}, .dynsym {found[key]['dynsym']}")
    found["numpy"]["version"] = numpy.__version__  # the loops' names and suffixes depend on it
    print(f"numpy: version {numpy.__version__}")
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
