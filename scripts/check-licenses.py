#!/usr/bin/env python3
"""Fails when any crate in the dependency graph can only be used under a GPL-family licence.

entente is MIT OR Apache-2.0: every dependency must offer at least one way to comply that uses no
licence of the GPL family (GPL, LGPL, AGPL). Each SPDX expression is parsed by
`license-expression` and brought to disjunctive normal form: it passes when one of its
alternatives (an AND of licences) holds no copyleft licence. So `GPL-3.0-only AND (MIT OR
Apache-2.0)` fails, and `(MIT OR Apache-2.0) AND Unicode-3.0` passes.
"""
import json
import re
import subprocess
import sys

from license_expression import get_spdx_licensing

LICENSING = get_spdx_licensing()
COPYLEFT = re.compile(r"^(A|L)?GPL", re.IGNORECASE)


def key(symbol) -> str:
    # `GPL-2.0 WITH Classpath-exception-2.0` is still the GPL.
    return getattr(symbol, "key", None) or symbol.license_symbol.key


def acceptable(expression: str) -> bool:
    # Cargo's legacy "MIT/Apache-2.0" means OR.
    parsed = LICENSING.parse(expression.replace("/", " OR "), validate=False)
    normal = LICENSING.dnf(parsed)
    alternatives = normal.args if type(normal).__name__ == "OR" else [normal]
    return any(not any(COPYLEFT.search(key(s)) for s in alt.symbols) for alt in alternatives)


CASES = {
    "MIT OR Apache-2.0": True,
    "MIT/Apache-2.0": True,
    "(MIT OR Apache-2.0) AND Unicode-3.0": True,
    "Apache-2.0 WITH LLVM-exception OR MIT": True,
    "LGPL-2.1-or-later OR MIT": True,
    "MIT": True,
    "GPL-3.0-only AND (MIT OR Apache-2.0)": False,
    "(MIT OR Apache-2.0) AND GPL-3.0-only": False,
    "GPL-2.0 WITH Classpath-exception-2.0": False,
    "AGPL-3.0-or-later": False,
    "LGPL-2.1-only": False,
    "GPL-3.0": False,
}


def self_test() -> None:
    wrong = [e for e, ok in CASES.items() if acceptable(e) != ok]
    if wrong:
        raise SystemExit(f"the licence check itself is wrong about: {wrong}")


def main() -> int:
    self_test()
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    in_graph = {node["id"] for node in metadata["resolve"]["nodes"]}
    failures = []
    checked = 0
    for package in metadata["packages"]:
        if package["id"] not in in_graph:
            continue
        checked += 1
        licence = package.get("license")
        if not licence:
            failures.append(f"{package['name']} {package['version']}: no SPDX licence declared")
        elif not acceptable(licence):
            failures.append(f"{package['name']} {package['version']}: {licence}")
    if failures:
        print("Dependencies that entente (MIT OR Apache-2.0) cannot use:")
        print("\n".join(f"  {f}" for f in failures))
        return 1
    print(f"{len(CASES)} expressions judged right; {checked} crates checked: every one offers a non-GPL licence")
    return 0


if __name__ == "__main__":
    sys.exit(main())
