#!/usr/bin/env python3
"""Reads bench/cpu/jar_ab.sh's log: each linear op's median call divided by the QKV GEMM's median call in
the same run, per build and round, and the median over the rounds. Use it where the change leaves the
QKV GEMM's kernel alone (a GELU or residual epilogue change does); where it does not, DIVISOR=attention
divides by the attention op's median call instead (and then QKV is among the ops divided)."""
import os
import re
import statistics
import sys

divisor = os.environ.get("DIVISOR", "linear_qkv")
rows, cur = {}, None
for line in open(sys.argv[1]):
    m = re.match(r"== (\w+) round (\d+)", line)
    if m:
        cur = m.groups()
        rows[cur] = {}
    m = re.match(r"\s+(linear\S*|attention|layernorm)\s+((?:\w+=\d+ ?)+?)\s+\d+\s+([0-9.]+)", line)
    if m and cur:
        rows[cur][(m.group(1), m.group(2))] = float(m.group(3))
ratios = {}
for (build, _), ops in rows.items():
    div = next((us for op, us in ops.items() if op[0] == divisor), None)
    if div:
        for op, us in ops.items():
            if op[0] != divisor:
                ratios.setdefault((op, build), []).append(us / div)
for (op, build), r in sorted(ratios.items()):
    print(f"{op[0]:22s} {op[1]:20s} {build}: median call / " + divisor + "'s, by round " + " ".join(f"{x:.4f}" for x in r)
          + f"; median {statistics.median(r):.4f}")
