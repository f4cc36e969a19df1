"""Parsing Python syntax in grading threads, one at a time.

CPython 3.11 keeps the AST conversion's recursion depth per interpreter, not per thread: a parse in one
grading thread can make another's fail with SystemError "AST constructor recursion depth mismatch"
(python/cpython#106905; seen on 3.11.7). The grader parses answers (the scan) and, through NumPy, the
headers of recorded data (``ast.literal_eval``); both take turns here, and one that still meets a parse
outside our control (the traceback module placing its carets) is tried again. Without this, a student
lost a question's points to "damaged" data when the machine was busy.
"""
import threading

_TURN = threading.Lock()
TRIES = 3


def in_turn(parse, *args):
    """``parse(*args)``, never beside another parse of ours; tried again when another thread spoiled it."""
    with _TURN:
        for attempt in range(TRIES):
            try:
                return parse(*args)
            except SystemError:
                if attempt == TRIES - 1:
                    raise
