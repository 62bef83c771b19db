#!/usr/bin/python3
"""h2stats.py - summarise one h2load run of bench/unary.sh.

h2load counts every HTTP 200 as a success, even when the gRPC status in the
trailers is an error, and its summary has no percentiles. This reads:
  - h2load's stdout: duration, request counts, DATA bytes received;
  - h2load's --log-file: one row per request, tab-separated
    (start time us, HTTP status, us until end of response), see h2load(1);
  - the expected size of one reply DATA payload (5-byte prefix + message).
A gRPC error reply carries no message (trailers only), so every request that
did not bring back a full reply is a failure:
  failures = requests - DATA bytes / reply size
(non-200 rows carry no reply, so they are among them),
and a DATA total that is not a whole number of replies is reported as a
size mismatch. Throughput counts only the good replies.

Usage: h2stats.py H2LOAD_STDOUT LOG_FILE REPLY_BYTES
Prints one tab-separated line:
  requests failures seconds req_per_s p50_ms p90_ms p99_ms note
"""
import re
import sys


def parse_stdout(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    m_fin = re.search(r"finished in ([0-9.]+)(ms|s),", text)
    m_req = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, "
                      r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    m_data = re.search(r"\((\d+)\) data", text)
    if not (m_fin and m_req and m_data):
        raise SystemExit(f"h2stats: cannot parse h2load output {path}")
    secs = float(m_fin.group(1)) / (1000.0 if m_fin.group(2) == "ms" else 1.0)
    total, done, ok = (int(m_req.group(i)) for i in (1, 2, 3))
    return secs, total, done, ok, int(m_data.group(1))


def latencies(path):
    """Per-request times in microseconds and the number of non-200 rows."""
    times, bad = [], 0
    with open(path, encoding="ascii", errors="replace") as f:
        for line in f:
            cols = line.split("\t")
            if len(cols) < 3:
                continue
            if cols[1] != "200":
                bad += 1
            times.append(int(cols[2]))
    times.sort()
    return times, bad


def pct(sorted_us, p):
    """Nearest-rank percentile, in milliseconds."""
    if not sorted_us:
        return float("nan")
    rank = max(1, -(-len(sorted_us) * p // 100))
    return sorted_us[int(rank) - 1] / 1000.0


def main():
    if len(sys.argv) != 4:
        raise SystemExit("usage: h2stats.py H2LOAD_STDOUT LOG_FILE REPLY_BYTES")
    secs, total, done, ok, data = parse_stdout(sys.argv[1])
    times, non200 = latencies(sys.argv[2])
    size = int(sys.argv[3])
    full, rest = divmod(data, size)
    notes = []
    if rest or full > ok:
        notes.append(f"size mismatch: {data} DATA bytes for {ok} replies of {size}")
        full = min(full, ok)
    if len(times) != done:
        notes.append(f"log has {len(times)} rows for {done} requests")
    if non200:
        notes.append(f"{non200} non-200 responses")
    failures = total - full
    rps = full / secs if secs > 0 else 0.0
    p50, p90, p99 = (pct(times, p) for p in (50, 90, 99))
    print(f"{total}\t{failures}\t{secs:.2f}\t{rps:.0f}\t{p50:.2f}\t{p90:.2f}\t{p99:.2f}\t"
          + ("; ".join(notes) or "-"))


if __name__ == "__main__":
    main()
