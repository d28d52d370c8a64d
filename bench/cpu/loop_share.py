#!/usr/bin/env python3
"""The share of a kernel build's perf samples inside its hottest innermost loop.

Reads `perf annotate --stdio` of one PoCL kernel build (a .so in PoCL's kernel cache) on stdin. A
GEMM's K loop is its innermost hot loop; what falls outside it is set-up and epilogue. Comparing that
share between ops of the same kernel (QKV against the projection) or between two builds of one op
says where an op loses time, immune to the host's drift between runs: both sides come from one run.

A loop is a backward jump and the instructions from its target to it; innermost: at most MAX_INSNS
instructions (the vector micro-kernel is 20-40). Prints the loop's address range, its length and the
share of the build's samples that fall in it, and the hottest instructions outside it (where cpu-clock
sampling lands: the instruction after the one the core waited on).
"""
import re
import sys

MAX_INSNS = 80


def main():
    rows = []  # (percent, address, instruction)
    for line in sys.stdin:
        m = re.match(r'\s+([0-9.]+)\s+:\s+([0-9a-f]+):\s+(.*)', line)
        if m:
            rows.append((float(m.group(1)), int(m.group(2), 16), m.group(3).strip()))
    total = sum(p for p, _, _ in rows)
    if not rows or total == 0:
        print("no samples")
        return
    best = None
    for _, at, insn in rows:
        m = re.match(r'j\w+\s+([0-9a-f]+)', insn)
        if not m or int(m.group(1), 16) >= at:
            continue
        lo = int(m.group(1), 16)
        inside = [p for p, a, _ in rows if lo <= a <= at]
        if len(inside) <= MAX_INSNS and (best is None or sum(inside) > best[0]):
            best = (sum(inside), lo, at, len(inside))
    if best is None:
        print("no loop of at most %d instructions" % MAX_INSNS)
        return
    share, lo, hi, n = best
    print("innermost hot loop %x-%x (%d instructions): %.1f%% of the build's samples" % (lo, hi, n, 100 * share / total))
    outside = sorted((r for r in rows if not lo <= r[1] <= hi), key=lambda r: -r[0])[:int(sys.argv[1]) if len(sys.argv) > 1 else 0]
    for p, a, insn in outside:
        if p > 0:
            print("    outside: %5.1f%%  %x  %s" % (100 * p / total, a, insn))


if __name__ == "__main__":
    main()
