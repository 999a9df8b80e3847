#!/usr/bin/env python3
"""Tables for BENCHMARKS.md from the last `cargo bench --bench overhead` run.

Reads criterion's own estimates (target/criterion/<group>/<line>/new/estimates.json)
and prints, per group, each line's median, the nanoseconds it adds over the
group's `plain` line of the same run, and its ratio to `plain`; for the
`contention` group, one thread against two and their ratio. Nothing is typed in
by hand: run it right after the bench.

    python3 benches/summary.py [target/criterion]
"""

import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")


def median(group, line):
    path = root / group / line / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]


def lines(group):
    folder = root / group
    if not folder.is_dir():
        return []
    found = [p.parent.parent.name for p in folder.glob("*/new/estimates.json")]
    return sorted(found, key=lambda name: (name != "plain" and not name.startswith("plain"), name))


def ns(value):
    return f"{value:.1f} ns" if value >= 10 else f"{value:.2f} ns"


def plain_group(group):
    names = lines(group)
    plain = median(group, "plain")
    if not names or plain is None:
        return
    print(f"\n{group} (plain {ns(plain)})\n")
    print("| line | median | ns added | × plain |")
    print("|---|---:|---:|---:|")
    for name in names:
        m = median(group, name)
        print(f"| `{name}` | {ns(m)} | {m - plain:+.1f} | {m / plain:.2f} |")


def contention():
    group = "contention"
    names = sorted({n.rsplit("_", 2)[0] for n in lines(group) if n.endswith("_threads")},
                   key=lambda n: (n != "plain", n))
    if not names:
        return
    plain = {t: median(group, f"plain_{t}_threads") for t in (1, 2)}
    print("\ncontention (per call, slower thread)\n")
    print("| line | 1 thread | 2 threads | 2 / 1 | ns added, 1 thread | ns added, 2 threads |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        one, two = (median(group, f"{name}_{t}_threads") for t in (1, 2))
        if one is None or two is None:
            continue
        added = [f"{m - plain[t]:+.1f}" if plain[t] else "" for t, m in ((1, one), (2, two))]
        print(f"| `{name}` | {ns(one)} | {ns(two)} | {two / one:.2f} | {added[0]} | {added[1]} |")


def bare_group(group):
    names = lines(group)
    if not names:
        return
    print(f"\n{group}\n")
    print("| line | median |")
    print("|---|---:|")
    for name in names:
        print(f"| `{name}` | {ns(median(group, name))} |")


for group in ("success_path", "sync_success_path", "hedge", "waits"):
    plain_group(group)
contention()
bare_group("clock")
