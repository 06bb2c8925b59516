"""io in Python: the lab's workloads/io.c, threads that wait. time.sleep
releases the GIL while it blocks (Py_BEGIN_ALLOW_THREADS, as the lab's
CALL_BLOCKING), then a little countdown work runs that the threads take
turns for. The size counts blocking calls, split over the workers in
single calls as in the lab (no UNIT).
"""
import time

PARAMS = {"block_us": 1000, "work": 100}
UNIT = None
SOURCE = """
def work(n):
    while n > 0:
        time.sleep({block_us} / 1e6)
        k = {work}
        while k > 0:
            k -= 1
        n -= 1
"""


def setup(params):
    return {"time": time}
