"""alloc in Python: the lab's workloads/alloc.c.

The lab builds each list with BUILD_LIST, a while loop of LIST_APPEND and
an increment; CPython's comprehension does the same allocations (k ints,
the list and its growing item array) but iterates a range object instead
of comparing and incrementing a counter. The size is counted in ints and
done in whole lists of k (UNIT), as in the lab.
"""
PARAMS = {"k": 1000}
UNIT = "k"
SOURCE = """
def work(n):
    while n > 0:
        lst = [i for i in range({k})]
        n -= {k}
"""


def setup(params):
    return {}
