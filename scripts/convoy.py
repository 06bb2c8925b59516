#!/usr/bin/env python3
"""The convoy experiment in CPython itself, to put beside gil-lab's figures.

The same experiment as `gil-lab run -w convoy` (workloads/convoy.c), written
in Python so that the machine's own interpreter measures it: an echo server
thread that reads 8-byte requests from a socketpair, does a little work and
answers request + 1; K CPU-bound threads counting down beside it; and a
client in a forked process, outside the interpreter, that sends requests
back-to-back (or at a fixed rate, latency counted from when a request was
due) for a fixed time and times every reply. Like Tools/ccbench's latency
and bandwidth tests, and like gil-lab, it prints throughput and exact
latency percentiles (nearest rank over every request) per row.

    python3 scripts/convoy.py                      # K = 0, 1, 2 at 1, 5, 20 ms
    python3 scripts/convoy.py -k 1 -i 5000 -d 2000 --csv

Rows go to stdout, one per (switch interval, CPU threads, repeat), as a
table or, with --csv, with the header
    python,switch_interval_us,cpu_threads,repeat,requests,duration_s,
    throughput_rps,p50_s,p90_s,p99_s,p999_s,max_s
The script later becomes part of `gil-lab calibrate`.
"""

import argparse
import math
import os
import platform
import socket
import struct
import sys
import threading
import time

MESSAGE = struct.Struct("<q")   # one 8-byte little-endian int, as the lab's


def spin(stop):
    """A CPU-bound thread: the lab's background countdown, in chunks so
    that it notices the end (ccbench's TimedLoop does the same)."""
    while not stop:
        n = 10000
        while n > 0:
            n -= 1


def echo_server(sock, work):
    """Worker 0: recv, a little work, sendall(request + 1), until the client
    shuts its end."""
    while True:
        data = sock.recv(MESSAGE.size)
        if not data:
            break
        k = work
        while k > 0:
            k -= 1
        sock.sendall(MESSAGE.pack(MESSAGE.unpack(data)[0] + 1))


def recv_exactly(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        sock.settimeout(max(deadline - time.monotonic(), 0.0))
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buf += chunk
    return buf


def client(sock, duration, rate, timeout):
    """The forked client: returns the latencies (seconds) and the time the
    requests took. Never touches the parent's interpreter state."""
    lat = []
    start = time.perf_counter()
    end = start + duration
    last = start
    request = 1
    while True:
        if rate > 0:
            due = start + (request - 1) / rate
            if due >= end:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        else:
            due = time.perf_counter()
            if due >= end:
                break
        sock.sendall(MESSAGE.pack(request))
        reply = MESSAGE.unpack(recv_exactly(sock, MESSAGE.size, time.monotonic() + timeout))[0]
        last = time.perf_counter()
        if reply != request + 1:
            raise RuntimeError(f"reply {request} is {reply}, expected {request + 1}")
        lat.append(last - due)
        request += 1
    return lat, last - start


def nearest_rank(sorted_values, p):
    return sorted_values[max(math.ceil(p * len(sorted_values)) - 1, 0)]


def run_row(cpu_threads, interval_us, duration, rate, work, timeout):
    sys.setswitchinterval(interval_us / 1e6)
    server_end, client_end = socket.socketpair()
    stop = []
    spinners = [threading.Thread(target=spin, args=(stop,)) for _ in range(cpu_threads)]
    for t in spinners:
        t.start()
    server = threading.Thread(target=echo_server, args=(server_end, work))
    server.start()
    report_r, report_w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the client: a child that only talks over the socket
        status = 0
        try:
            server_end.close()
            lat, took = client(client_end, duration, rate, timeout)
            lat.sort()
            line = "%d %r %s" % (len(lat), took, " ".join(
                repr(nearest_rank(lat, p)) if lat else "nan"
                for p in (0.5, 0.9, 0.99, 0.999, 1.0)))
        except Exception as exc:   # reported by the parent, as gil-lab does
            line = "error " + str(exc)
            status = 1
        client_end.shutdown(socket.SHUT_RDWR)
        os.write(report_w, line.encode())
        os._exit(status)
    client_end.close()
    os.close(report_w)
    with os.fdopen(report_r) as f:
        report = f.read()
    os.waitpid(pid, 0)
    server.join()
    stop.append(True)
    for t in spinners:
        t.join()
    server_end.close()
    if report.startswith("error ") or not report:
        raise SystemExit("convoy.py: client: " + (report[6:] or "died without a report"))
    fields = report.split()
    requests, took = int(fields[0]), float(fields[1])
    p50, p90, p99, p999, pmax = (float(x) for x in fields[2:7])
    return requests, took, requests / took if took > 0 else 0.0, p50, p90, p99, p999, pmax


def int_list(text):
    return [int(x) for x in text.split(",")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", "--cpu-threads", type=int_list, default=[0, 1, 2],
                    help="CPU-bound threads beside the server, a list (default 0,1,2)")
    ap.add_argument("-i", "--switch-interval", type=int_list, default=[1000, 5000, 20000],
                    help="switch intervals in microseconds, a list (default 1000,5000,20000)")
    ap.add_argument("-d", "--duration-ms", type=int, default=2000,
                    help="milliseconds of client traffic per row (default 2000)")
    ap.add_argument("-r", "--repeat", type=int, default=1, help="runs per row (default 1)")
    ap.add_argument("--rate", type=int, default=0, help="requests per second, 0 = back-to-back")
    ap.add_argument("--work", type=int, default=10,
                    help="countdown iterations per request in the server (default 10)")
    ap.add_argument("--timeout-ms", type=int, default=10000,
                    help="longest wait for one reply (default 10000)")
    ap.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")
    args = ap.parse_args()
    for name, values in (("--cpu-threads", args.cpu_threads),
                         ("--switch-interval", args.switch_interval)):
        if not values or min(values) < (0 if name == "--cpu-threads" else 1):
            ap.error(f"{name}: values must be at least {0 if name == '--cpu-threads' else 1}")
    if args.duration_ms < 10 or args.repeat < 1 or args.rate < 0 or args.work < 0 or args.timeout_ms < 1:
        ap.error("duration at least 10 ms, repeat at least 1, rate, work >= 0, timeout >= 1 ms")

    version = platform.python_version() + (" free-threaded" if not getattr(sys, "_is_gil_enabled", lambda: True)() else "")
    if args.csv:
        print("python,switch_interval_us,cpu_threads,repeat,requests,duration_s,"
              "throughput_rps,p50_s,p90_s,p99_s,p999_s,max_s")
    else:
        print(f"CPython {version}; client in a forked process; {args.duration_ms} ms per row")
        print(f"{'interval':>9} {'cpu':>4} {'req/s':>9} {'p50':>9} {'p90':>9} {'p99':>9} {'max':>9}")
    for interval in args.switch_interval:
        for k in args.cpu_threads:
            for rep in range(args.repeat):
                n, took, rps, p50, p90, p99, p999, pmax = run_row(
                    k, interval, args.duration_ms / 1000, args.rate, args.work, args.timeout_ms / 1000)
                if args.csv:
                    print(f"{version},{interval},{k},{rep + 1},{n},{took:.6f},{rps:.1f},"
                          f"{p50:.6g},{p90:.6g},{p99:.6g},{p999:.6g},{pmax:.6g}")
                else:
                    print(f"{interval / 1000:>7g}ms {k:>4} {rps:>9.0f} {p50 * 1e3:>7.3f}ms "
                          f"{p90 * 1e3:>7.3f}ms {p99 * 1e3:>7.3f}ms {pmax * 1e3:>7.3f}ms")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
