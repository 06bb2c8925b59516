"""gil-lab calibrate's driver: the lab's workloads in this Python.

gil-lab (cli/cmd_calibrate.c) writes this file and workloads/*.py into a
private folder and runs, with the Python under test, one process per
warm-up or repeat, as the lab runs one repeat process per repeat:

    python -I driver.py DIR probe
        what this Python is, and one tiny run of every workload (so that a
        broken Python fails before anything is measured)
    python -I driver.py DIR run WORKLOAD MODE WORKERS SIZE [NAME=VALUE ...]
        one timed run; MODE is single, threads, processes or pool

and reads one JSON object from standard output, in the lab's sample field
names (runners/runner.h): wall_s, startup_s, cpu_user_s, cpu_sys_s,
worker_min_s, worker_max_s, worker_mean_s, max_rss_kib.

The modes are the seed notebook's and the lab's (runners/): wall time
spans creating, starting and joining the workers; each worker times its
own run from a common start barrier; processes are forked inside the
timer (multiprocessing.Process, fork); a Pool is forked before it and fed
one task per worker, its start-up timed apart. The size is split as
wl_share splits it: in whole pieces of the workload's unit, the first
workers taking the remainder. Standard library only.
"""
import importlib.util
import json
import multiprocessing
import os
import platform
import resource
import sys
import threading
import time

WORK = None           # the workload's function, set before any worker starts
BARRIER = None


def load(folder, name):
    path = os.path.join(folder, "workloads", name + ".py")
    spec = importlib.util.spec_from_file_location("gil_lab_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(module, params):
    """The workload's function, compiled from its source with the
    parameters as constants (the lab's LOAD_CONST). A workload whose code
    depends on a parameter (alloc's form) gives source(params) instead of
    SOURCE."""
    namespace = module.setup(params)
    text = module.source(params) if hasattr(module, "source") else module.SOURCE
    exec(compile(text.format(**params), module.__name__, "exec"), namespace)
    return namespace["work"]


def unit_of(module, params):
    """How many units of size one piece of work takes (the lab's
    workload_t.unit): unit(params), or the parameter UNIT names, or 1."""
    if hasattr(module, "unit"):
        return module.unit(params)
    return params[module.UNIT] if module.UNIT else 1


def shares(size, workers, unit):
    pieces = -(-size // unit)
    return [(pieces // workers + (1 if i < pieces % workers else 0)) * unit
            for i in range(workers)]


def timed(share):
    if BARRIER is not None:
        BARRIER.wait()
    t0 = time.perf_counter()
    WORK(share)
    return time.perf_counter() - t0


def process_main(share, conn):
    conn.send(timed(share))
    conn.close()


def pool_task(share):
    return timed(share)


def cpu_now():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (me.ru_utime + kids.ru_utime, me.ru_stime + kids.ru_stime,
            max(me.ru_maxrss, kids.ru_maxrss))


def run(mode, workers, size, unit):
    global BARRIER
    parts = shares(size, workers, unit)
    startup = None
    u0, s0, _ = cpu_now()
    if mode == "single":
        t0 = time.perf_counter()
        own = [timed(parts[0])]
        wall = time.perf_counter() - t0
    elif mode == "threads":
        BARRIER = threading.Barrier(workers)
        own = [0.0] * workers

        def body(i):
            own[i] = timed(parts[i])
        t0 = time.perf_counter()
        crew = [threading.Thread(target=body, args=(i,)) for i in range(workers)]
        for t in crew:
            t.start()
        for t in crew:
            t.join()
        wall = time.perf_counter() - t0
    elif mode == "processes":
        ctx = multiprocessing.get_context("fork")
        t0 = time.perf_counter()
        pipes = [ctx.Pipe(duplex=False) for _ in range(workers)]
        crew = [ctx.Process(target=process_main, args=(parts[i], pipes[i][1]))
                for i in range(workers)]
        for p in crew:
            p.start()
        own = [pipe[0].recv() for pipe in pipes]
        for p in crew:
            p.join()
        wall = time.perf_counter() - t0
    elif mode == "pool":
        ctx = multiprocessing.get_context("fork")
        t0 = time.perf_counter()
        pool = ctx.Pool(workers)
        startup = time.perf_counter() - t0
        t0 = time.perf_counter()
        own = pool.map(pool_task, parts, chunksize=1)
        pool.close()
        pool.join()
        wall = time.perf_counter() - t0
    else:
        raise SystemExit("unknown mode " + mode)
    u1, s1, rss = cpu_now()
    return {"wall_s": wall, "startup_s": startup, "cpu_user_s": u1 - u0,
            "cpu_sys_s": s1 - s0, "worker_min_s": min(own), "worker_max_s": max(own),
            "worker_mean_s": sum(own) / len(own), "max_rss_kib": rss}


def main(argv):
    global WORK
    folder, command = argv[1], argv[2]
    if command == "probe":
        names = sorted(f[:-3] for f in os.listdir(os.path.join(folder, "workloads"))
                       if f.endswith(".py"))
        for name in names:            # every workload once, tiny
            module = load(folder, name)
            params = dict(module.PARAMS)
            WORK = build(module, params)
            WORK(unit_of(module, params) if module.UNIT or hasattr(module, "unit") else 10)
        gil = getattr(sys, "_is_gil_enabled", lambda: True)()
        print(json.dumps({"implementation": platform.python_implementation(),
                          "version": platform.python_version(), "gil": gil,
                          "executable": sys.executable, "workloads": names}))
        return 0
    name, mode, workers, size = argv[3], argv[4], int(argv[5]), int(argv[6])
    module = load(folder, name)
    params = dict(module.PARAMS)
    for item in argv[7:]:
        key, value = item.split("=", 1)
        params[key] = int(value) if value.lstrip("-").isdigit() else value   # a named value: alloc's form
    WORK = build(module, params)
    unit = unit_of(module, params)
    print(json.dumps(run(mode, workers, size, unit)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
