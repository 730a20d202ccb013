#!/usr/bin/env python3
"""Fails when any crate in the dependency graph can only be used under a GPL-family licence.

entente is MIT OR Apache-2.0: every dependency must offer at least one licence outside the
GPL family (GPL, LGPL, AGPL). An SPDX expression "A OR B" passes when one side does.
"""
import json
import re
import subprocess
import sys

COPYLEFT = re.compile(r"\b(A|L)?GPL", re.IGNORECASE)


def acceptable(expression: str) -> bool:
    # Top-level alternatives; parentheses group AND/WITH terms that must hold together.
    alternatives = re.split(r"\s+OR\s+|/", expression.replace("(", " ").replace(")", " "))
    return any(alt.strip() and not COPYLEFT.search(alt) for alt in alternatives)


def main() -> int:
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
    print(f"{checked} crates checked: every one offers a non-GPL licence")
    return 0


if __name__ == "__main__":
    sys.exit(main())
