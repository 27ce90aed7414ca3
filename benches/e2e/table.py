#!/usr/bin/env python3
"""Summarises benches/e2e/run.sh's results.tsv as Markdown tables.

    python3 benches/e2e/table.py OUT/results.tsv

Input lines (run.sh): round, scenario, implementation, test, value (Gbit/s
for the TCP tests, packets/s for udp64, or "fail"), the daemons' CPU time and
run-queue wait in % of one core, the machine's busy %, the daemons' CPU ns
per byte (per packet for udp64), cycles per byte (per packet) or "-", the
1-minute load average. Lines of the first script version (round,
implementation, Gbit/s, CPU %, wait %, busy %, load) count as direct tcp1.

Output:
1. One row per cell (scenario × test): every implementation's median and
   spread (min–max), then egd's ratios the throughput targets name — to raw
   veth (TCP only), gotatun, tinc, and egd relayed to egd direct — each the
   median of the per-round ratios (paired: both numbers from the same round,
   so a slow spell of the shared machine hits both) with their spread, and
   ✓/✗ against the target.
2. The targets, cell by cell, with the ratio of the medians beside the
   paired one, and a count of met and missed.
3. CPU: per cell and implementation the daemons' CPU %, run-queue wait % and
   CPU time per byte (per packet), medians; cycles where measured.
"""

import statistics
import sys
from collections import defaultdict

# (name in the table, implementation egd is divided by, target, TCP only)
TARGETS = [
    ("egd ÷ veth", "veth", 0.40, True),
    ("egd ÷ gotatun", "gotatun", 2.0, False),
    ("egd ÷ tinc", "tinc", 5.0, False),
]
# run.sh --egd-alt: egd against another build of itself (no target).
ALT = ("egd ÷ egd-alt", "egd-alt", None, False)
RELAY_TARGET = 0.7


def fnum(x: float) -> str:
    """Three significant digits, no exponent."""
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


class Cell:
    """One implementation in one scenario × test: its numbers per round."""

    def __init__(self) -> None:
        self.runs = 0
        self.value: dict[str, float] = {}  # round → Gbit/s or packets/s
        self.cols: dict[str, list[float]] = defaultdict(list)

    def median(self) -> float | None:
        return statistics.median(self.value.values()) if self.value else None


def parse(path: str):
    cells: dict[tuple[str, str], dict[str, Cell]] = {}
    impls: list[str] = []
    loads: list[float] = []
    busy: list[float] = []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 7:  # first script version: direct, tcp1
                rnd, impl, rate, cpu, runq, mbusy, load = fields
                scen, test, per_unit, cyc = "direct", "tcp1", "-", "-"
            elif len(fields) == 11:
                rnd, scen, impl, test, rate, cpu, runq, mbusy, per_unit, cyc, load = fields
            else:
                continue
            if impl not in impls:
                impls.append(impl)
            cell = cells.setdefault((scen, test), {}).setdefault(impl, Cell())
            cell.runs += 1
            loads.append(float(load))
            if rate == "fail":
                continue
            cell.value[rnd] = float(rate)
            for key, value in (("cpu", cpu), ("runq", runq), ("per_unit", per_unit), ("cyc", cyc)):
                if value not in ("-", ""):
                    cell.cols[key].append(float(value))
            if mbusy not in ("-", ""):
                busy.append(float(mbusy))
    return cells, impls, loads, busy


def paired(a: Cell | None, b: Cell | None) -> list[float]:
    """a ÷ b per round, where both have a number."""
    if a is None or b is None:
        return []
    return [a.value[r] / b.value[r] for r in a.value if r in b.value and b.value[r] > 0]


def ratio_text(ratios: list[float], target: float | None) -> str:
    if not ratios:
        return "—"
    m = statistics.median(ratios)
    mark = "" if target is None else (" ✓" if m >= target else " ✗")
    return f"{m:.2f}× ({min(ratios):.2f}–{max(ratios):.2f}){mark}"


def main(path: str) -> None:
    cells, impls, loads, busy = parse(path)
    keys = list(cells)
    has_relay = any(scen == "relay" for scen, _ in keys)

    def unit(test: str) -> str:
        return "k packets/s" if test == "udp64" else "Gbit/s"

    def show(test: str, x: float) -> str:
        return fnum(x / 1000) if test == "udp64" else fnum(x)

    # 1. The matrix.
    columns = TARGETS + ([ALT] if "egd-alt" in impls else [])
    head = ["scenario", "test", "unit"] + impls + [t[0] for t in columns]
    if has_relay:
        head.append("egd relay ÷ direct")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for scen, test in keys:
        row = [scen, test, unit(test)]
        for impl in impls:
            c = cells[(scen, test)].get(impl)
            m = c.median() if c else None
            if c is None:
                row.append("—")
            elif m is None:
                row.append(f"failed 0/{c.runs}")
            else:
                vals = c.value.values()
                text = f"**{show(test, m)}**" if impl == "egd" else show(test, m)
                text += f" ({show(test, min(vals))}–{show(test, max(vals))})"
                if len(c.value) < c.runs:
                    text += f" [{len(c.value)}/{c.runs} ok]"
                row.append(text)
        egd = cells[(scen, test)].get("egd")
        for _, other, target, tcp_only in columns:
            ratios = paired(egd, cells[(scen, test)].get(other))
            use = None if tcp_only and test == "udp64" else target
            row.append(ratio_text(ratios, use))
        if has_relay:
            if scen == "relay":
                direct = cells.get(("direct", test), {}).get("egd")
                row.append(ratio_text(paired(egd, direct), RELAY_TARGET))
            else:
                row.append("")
        print("| " + " | ".join(row) + " |")
    print(
        "\nCells: median (min–max) over the rounds; udp64 in thousands of 64-byte "
        "datagrams per second delivered to a UDP socket on B. Ratios: median of "
        "the per-round ratios (min–max); ✓/✗ against the throughput target "
        f"(≥ {TARGETS[0][2]:.2f}× raw veth for TCP, ≥ {TARGETS[1][2]:.0f}× gotatun, "
        f"≥ {TARGETS[2][2]:.0f}× tinc, relay ≥ {RELAY_TARGET}× direct)."
    )
    if loads:
        print(f"Load average (1 min) after each test: {min(loads):.1f}–{max(loads):.1f}.", end=" ")
    if busy:
        print(
            f"Machine busy during the measured windows: median {statistics.median(busy):.0f} % "
            f"({min(busy):.0f}–{max(busy):.0f} %).",
            end="",
        )
    print()

    # 2. Targets, cell by cell.
    met = missed = 0
    lines = []

    def judge(name: str, scen: str, test: str, a: Cell | None, b: Cell | None, target: float) -> None:
        nonlocal met, missed
        ratios = paired(a, b)
        if not ratios or a is None or b is None or not a.median() or not b.median():
            lines.append(f"| {name} | {scen} {test} | ≥ {target}× | — | — | not measured |")
            return
        of_medians = a.median() / b.median()
        p = statistics.median(ratios)
        ok = p >= target
        met, missed = met + ok, missed + (not ok)
        lines.append(
            f"| {name} | {scen} {test} | ≥ {target}× | {of_medians:.2f}× | {p:.2f}× "
            f"| {'**met**' if ok else '**missed**'} |"
        )

    for scen, test in keys:
        row = cells[(scen, test)]
        for name, other, target, tcp_only in TARGETS:
            if other in row and "egd" in row and not (tcp_only and test == "udp64"):
                judge(name, scen, test, row["egd"], row[other], target)
        if scen == "relay" and "egd" in row and ("direct", test) in cells:
            judge("egd relay ÷ direct", scen, test, row["egd"], cells[("direct", test)].get("egd"), RELAY_TARGET)
    if lines:
        print("\n| target | cell | needs | ratio of medians | paired median | verdict |")
        print("|---|---|---|---|---|---|")
        print("\n".join(lines))
        print(f"\nTargets met in {met} of {met + missed} cells (judged on the paired median).")

    # 3. CPU.
    daemon_impls = [i for i in impls if any(cells[k].get(i) and cells[k][i].cols["cpu"] for k in keys)]
    if daemon_impls:
        print("\n| scenario | test | " + " | ".join(daemon_impls) + " |")
        print("|" + "---|" * (2 + len(daemon_impls)))
        for scen, test in keys:
            row = [scen, test]
            for impl in daemon_impls:
                c = cells[(scen, test)].get(impl)
                if c is None or not c.cols["cpu"]:
                    row.append("—")
                    continue
                per = c.cols["per_unit"]
                if not per:  # the first script version did not record it
                    per_text = "—"
                elif test == "udp64":
                    per_text = f"{statistics.median(per):.0f} ns/pkt"
                else:
                    per_text = f"{statistics.median(per):.2f} ns/B"
                text = (
                    f"{statistics.median(c.cols['cpu']):.0f} % · {statistics.median(c.cols['runq']):.0f} % · "
                    + per_text
                )
                if c.cols["cyc"]:
                    unit_c = "cyc/pkt" if test == "udp64" else "cyc/B"
                    text += f" · {statistics.median(c.cols['cyc']):.2f} {unit_c}"
                row.append(text)
            print("| " + " | ".join(row) + " |")
        print(
            "\nCPU cells: the daemons' CPU % · run-queue wait % (both in % of one core, all "
            "sides and threads summed, 200 % = both CPUs) · CPU time per byte carried "
            "(per packet received for udp64), from /proc/PID/task/*/schedstat over the "
            "measured window; medians. Kernel work done inside the daemons' syscalls "
            "counts, softirq work on other threads does not."
        )
        if not any(cells[k][i].cols["cyc"] for k in keys for i in cells[k]):
            print("Cycles: no hardware counters here (`perf stat -e cycles` says <not supported>).")


if __name__ == "__main__":
    main(sys.argv[1])
