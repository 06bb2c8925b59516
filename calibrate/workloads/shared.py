"""shared in Python: the lab's workloads/shared.c. Every worker reads one
global list built before the workers start (LOAD_GLOBAL, BINARY_OP %,
BINARY_SUBSCR, STORE_FAST), the lab's refcount-contention workload.
"""
PARAMS = {"length": 64}
UNIT = None
SOURCE = """
def work(n):
    while n > 0:
        x = L[n % {length}]
        n -= 1
"""


def setup(params):
    return {"L": list(range(params["length"]))}
