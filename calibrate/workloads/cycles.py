"""cycles in Python: the lab's workloads/cycles.c, seed 000's reference
cycles. Every ring of `cycle` nodes is dropped while its nodes still refer
to each other, so only the cycle collector frees it. The size counts nodes
and is done in whole rings (UNIT), as in the lab; the lab's inlined
comprehension is CPython 3.12's (PEP 709), here on a range.
"""
PARAMS = {"cycle": 2, "payload": 0}
UNIT = "cycle"
SOURCE = """
def work(n):
    while n > 0:
        first = Node()
        last = first
        i = 1
        while i < {cycle}:
            node = Node()
            last.next = node
            last = node
            i += 1
        last.next = first
        first.data = [j + 1000 for j in range({payload})]
        n -= {cycle}
"""


class Node:
    __slots__ = ("next", "data")


def setup(params):
    return {"Node": Node}
