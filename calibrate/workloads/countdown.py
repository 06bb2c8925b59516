"""countdown in Python: the lab's workloads/countdown.c, the seed's loop.

Its bytecode is the lab's (`gil-lab dis countdown`): LOAD_FAST,
LOAD_CONST, COMPARE_OP, POP_JUMP_IF_FALSE, LOAD_FAST, LOAD_CONST,
BINARY_OP (-=), STORE_FAST, JUMP_BACKWARD.
"""
PARAMS = {}
UNIT = None
SOURCE = """
def work(n):
    while n > 0:
        n -= 1
"""


def setup(params):
    return {}
