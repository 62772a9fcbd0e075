"""Where the CPU time of one measurement went, from a system-wide `perf record` (cpu-clock
samples; this machine kind has no hardware counters). Used by run.sh when PROFILE=1.

Usage: python3 tests/bench/profile.py PERF_DATA LABEL
Prints one Markdown table: the share of all samples by where they were spent.
"""
import subprocess
import sys
from collections import Counter

SERVER_PARTS = [
    ("actix_http", "server: HTTP/1 parsing and writing (actix-http)"),
    ("actix_web", "server: routing, extractors, middleware (actix-web)"),
    ("actix_server", "server: accept loop and workers (actix-server, actix-rt, tokio)"),
    ("actix_rt", "server: accept loop and workers (actix-server, actix-rt, tokio)"),
    ("tokio", "server: accept loop and workers (actix-server, actix-rt, tokio)"),
    ("mio", "server: accept loop and workers (actix-server, actix-rt, tokio)"),
    ("diesel", "server: database client (diesel, diesel-async, tokio-postgres, pool)"),
    ("tokio_postgres", "server: database client (diesel, diesel-async, tokio-postgres, pool)"),
    ("postgres_protocol", "server: database client (diesel, diesel-async, tokio-postgres, pool)"),
    ("deadpool", "server: database client (diesel, diesel-async, tokio-postgres, pool)"),
    ("serde", "server: JSON and form encoding (serde, url)"),
    ("form_urlencoded", "server: JSON and form encoding (serde, url)"),
    ("sha2", "server: digests and signatures (sha2, ring)"),
    ("ring", "server: digests and signatures (sha2, ring)"),
    ("prometheus", "server: metrics"),
    ("tracing", "server: logging and spans (tracing)"),
    ("m2m_console", "server: the product's own code"),
]


def category(comm: str, dso: str, sym: str, server: str) -> str:
    if comm.startswith("postgres"):
        return "PostgreSQL (backends, WAL writer, checkpointer)"
    if comm.startswith("wrk"):
        return "load generator (wrk, same machine)"
    if comm.startswith("swapper"):
        return "idle"
    if comm.startswith("perf"):
        return "the profiler itself"
    is_server = dso == server or comm.startswith(("actix", "tokio", server[:15]))
    if not is_server:
        return "other processes"
    if dso.startswith("[kernel"):
        return "server: kernel (sockets, wake-ups)"
    if dso.startswith("libc"):
        return "server: libc (allocation, memcpy)"
    for part, name in SERVER_PARTS:
        if part in sym:
            return name
    return "server: other (inlined across crates)"


def main() -> None:
    data, label = sys.argv[1], sys.argv[2]
    out = subprocess.run(
        ["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "comm,dso,sym",
         "-t", ";", "--percent-limit", "0"],
        capture_output=True, text=True, check=True).stdout
    shares: Counter = Counter()
    for line in out.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in line.split(";")]
        if len(fields) < 4 or not fields[0].endswith("%"):
            continue
        pct = float(fields[0].rstrip("%"))
        shares[category(fields[1], fields[2], fields[3], "m2m-console")] += pct
    print(f"\nCPU time during {label} (perf, cpu-clock samples of the whole machine):\n")
    print("| where | share |")
    print("| --- | ---: |")
    for name, pct in shares.most_common():
        print(f"| {name} | {pct:.1f}% |")


if __name__ == "__main__":
    main()
