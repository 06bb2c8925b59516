"""alloc in Python: the lab's workloads/alloc.c, in its three forms.

churn: the lab builds each list with BUILD_LIST, a while loop of
LIST_APPEND and an increment; CPython's comprehension does the same
allocations (k ints, the list and its growing item array) but iterates a
range object instead of comparing and incrementing a counter. The size is
counted in ints and done in whole lists of k, as in the lab.

list and gen: seed 001's squares, built whole then read, or made one at a
time by a generator expression (which the lab runs without the
generator's frame switch); the size is counted in squares.
"""
PARAMS = {"k": 1000, "form": "churn"}
UNIT = "k"

SOURCES = {
    "churn": """
def work(n):
    while n > 0:
        lst = [i for i in range({k})]
        n -= {k}
""",
    "list": """
def work(n):
    lst = [x*x for x in range(n)]
    for y in lst:
        pass
""",
    "gen": """
def work(n):
    for y in (x*x for x in range(n)):
        pass
""",
}


def source(params):
    return SOURCES[params["form"]]


def unit(params):
    return params["k"] if params["form"] == "churn" else 1


def setup(params):
    return {}
