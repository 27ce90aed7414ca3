#!/usr/bin/env python3
"""Summarises benches/e2e/run.sh's results.tsv as a Markdown table.

Input lines: round, implementation, Gbit/s (or "fail"), the daemons' CPU
time and run-queue wait in % of one core (or "-"), the machine's busy %, the
1-minute load average. Output: per implementation the median and spread
(min–max) of the throughput, how many runs worked, the median's ratio to raw
veth's, egd's median divided by this one's, the median of egd's per-round
ratios to it (paired: both from the same round, so a slow spell of the
shared machine hits both), and medians of the CPU columns.
"""

import statistics
import sys


def median_or_dash(values: list[float], fmt: str = "{:.0f}") -> str:
    return fmt.format(statistics.median(values)) if values else "—"


def main(path: str) -> None:
    order: list[str] = []
    rows: dict[str, dict[str, list[float]]] = {}
    by_round: dict[tuple[str, str], float] = {}
    runs: dict[str, int] = {}
    loads: list[float] = []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 7:
                continue
            rnd, impl, rate, cpu, runq, busy, load = fields
            if rate != "fail":
                by_round[(rnd, impl)] = float(rate)
            if impl not in order:
                order.append(impl)
                rows[impl] = {"gbps": [], "cpu": [], "runq": [], "busy": []}
                runs[impl] = 0
            runs[impl] += 1
            loads.append(float(load))
            for key, value in (("gbps", rate), ("cpu", cpu), ("runq", runq), ("busy", busy)):
                if value not in ("fail", "-", ""):
                    rows[impl][key].append(float(value))

    def median(impl: str) -> float | None:
        values = rows.get(impl, {}).get("gbps")
        return statistics.median(values) if values else None

    veth, egd = median("veth"), median("egd")

    def paired(impl: str) -> str:
        ratios = [
            egd_rate / by_round[(rnd, impl)]
            for (rnd, name), egd_rate in by_round.items()
            if name == "egd" and (rnd, impl) in by_round
        ]
        if impl == "egd" or not ratios:
            return "—"
        return f"{statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"

    print(
        "| implementation | median Gbit/s | min–max | runs ok | ÷ raw veth | egd ÷ this "
        "| egd ÷ this, paired per round (min–max) "
        "| daemons' CPU % | daemons' run-queue wait % | machine busy % |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for impl in order:
        r, m = rows[impl], median(impl)
        if m is None:
            print(f"| {impl} | failed | — | 0/{runs[impl]} | — | — | — | — | — | — |")
            continue
        spread = f"{min(r['gbps']):.2f}–{max(r['gbps']):.2f}"
        to_veth = f"{m / veth:.3f}" if veth else "—"
        egd_ratio = f"{egd / m:.2f}×" if egd and impl != "egd" else "—"
        print(
            f"| {impl} | {m:.3f} | {spread} | {len(r['gbps'])}/{runs[impl]} | {to_veth} "
            f"| {egd_ratio} | {paired(impl)} | {median_or_dash(r['cpu'])} | {median_or_dash(r['runq'])} "
            f"| {median_or_dash(r['busy'])} |"
        )
    if loads:
        print(f"\nload average (1 min) after each run: {min(loads):.2f}–{max(loads):.2f}")
    print(
        "CPU columns: medians over the runs; the daemons of both sides summed, "
        "in % of one core; 200 % = both CPUs."
    )


if __name__ == "__main__":
    main(sys.argv[1])
