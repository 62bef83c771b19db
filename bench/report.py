#!/usr/bin/python3
"""report.py - turn bench/unary.sh's results.tsv into a Markdown table and
the dropshipd/greeter ratio.

Each input line: round, server, method, then either
  requests, failures, seconds, req/s, p50, p90, p99 (ms), note,
  others (% of the machine's CPU used by neither server nor h2load)
or one field "not available (<why>)".
The ratio is the median over rounds of dropshipd Health/Check req/s /
greeter SayHello req/s in the same round; it is marked invalid when a run
counted failures or a probe failed, and noisy when other processes used more
than BUSY_PCT % of the machine during a run.
"""
import statistics
import sys

TARGET_RATIO = 1.2
BUSY_PCT = 10
HEALTH = "/grpc.health.v1.Health/Check"
HELLO = "/helloworld.Greeter/SayHello"


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 4:
                rows.append(cols)
    return rows


def is_measured(cols):
    return len(cols) == 12


def table(rows, rounds):
    head = ["server", "method", "requests", "failures", "req/s", "p50 ms", "p90 ms", "p99 ms",
            "others CPU", "notes"]
    if rounds > 1:
        head.insert(0, "round")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in rows:
        r, server, method = c[0], c[1], c[2].lstrip("/")
        if is_measured(c):
            cells = [server, method, c[3], c[4], c[6], c[7], c[8], c[9], c[11] + "%",
                     "" if c[10] == "-" else c[10]]
        else:
            short = method.rsplit("/", 1)[-1]
            cells = [server, method, "", "", f"{short}: {c[3]}", "", "", "", "", ""]
        if rounds > 1:
            cells.insert(0, r)
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def ratio(rows):
    """Median over rounds of the per-round ratio: each round measures both
    servers minutes apart, so a ratio pairs runs under similar conditions."""
    def pick(rnd, server, method):
        sel = [c for c in rows if c[0] == rnd and c[1] == server and c[2] == method]
        return sel[0] if sel and is_measured(sel[0]) else None

    per_round, invalid, busy = [], False, False
    for rnd in sorted({c[0] for c in rows}, key=int):
        ds, gr = pick(rnd, "dropshipd", HEALTH), pick(rnd, "greeter", HELLO)
        if not ds or not gr or float(gr[6]) <= 0:
            continue
        per_round.append(float(ds[6]) / float(gr[6]))
        invalid |= any(c[4] != "0" or c[10] != "-" for c in (ds, gr))
        busy |= any(float(c[11]) > BUSY_PCT for c in (ds, gr))
    if not per_round:
        return "ratio dropshipd/greeter: not available (a server was not measured)"
    r = statistics.median(per_round)
    verdict = "meets" if r >= TARGET_RATIO else "below"
    text = (f"ratio dropshipd Health/Check / greeter SayHello: **{r:.2f}x** "
            f"(target >= {TARGET_RATIO}x: {verdict})")
    if len(per_round) > 1:
        text += "; per round: " + ", ".join(f"{x:.2f}x" for x in per_round) + ", median shown"
    if invalid:
        text += " -- NOT VALID: a run had failures or a note, see the table"
    if busy:
        text += (f" -- noisy: other processes used more than {BUSY_PCT}% of the CPU"
                 " during a run (see 'others CPU')")
    return text


def main():
    rows = load(sys.argv[1])
    rounds = len({c[0] for c in rows})
    print(table(rows, rounds))
    print()
    print(ratio(rows))


if __name__ == "__main__":
    main()
