"""Read student code, outside the kernel, for things a course answer never needs and a cheat does."""
import ast
import re

from IPython.core.inputtransformer2 import TransformerManager

from grader.cells import student_code
from grader.parsing import in_turn

# Attribute or name -> why an instructor should look at it.
REACHES = {
    "get_ipython": "drives the IPython shell that runs the tests",
    "input_transformers_cleanup": "rewrites later cells", "input_transformers_post": "rewrites later cells",
    "ast_transformers": "rewrites later cells", "set_custom_exc": "hides exceptions",
    "settrace": "traces (and can skip) the tests' lines", "setprofile": "hooks every function call",
    "_getframe": "inspects the calling test's frame", "_exit": "ends the kernel abruptly",
    "builtins": "changes Python's builtins", "__builtins__": "changes Python's builtins",
    "ctypes": "touches memory directly", "grader_guard": "targets the grader",
    "gc": "reaches objects it was not given", "displayhook": "replaces how results are shown",
    "excepthook": "replaces how errors are shown",
}
MAGIC_CALLS = ("run_line_magic", "run_cell_magic", "system", "getoutput")  # what IPython syntax becomes
SETTINGS = ("torch.backends.", "np.random.", "numpy.random.")  # settings, not functions: fine to assign
PATCHABLE = {"math", "cmath", "torch", "np", "numpy", "course", "checks", "sys", "os", "operator", "testing", "F"}


def _names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)} | {
        a.name.split(".")[0] for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names} | {n.module.split(".")[0] for n in ast.walk(node) if isinstance(n, ast.ImportFrom) and n.module}


def _root(node):
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def parse(code):
    """The syntax tree of a cell as the kernel runs it: IPython syntax (magics, !commands) turned into Python,
    and the code a magic runs (``%time f(x)``, ``%%timeit``) parsed in its place. None for broken code."""
    try:
        tree = in_turn(ast.parse, TransformerManager().transform_cell(code))
    except (SyntaxError, ValueError):
        return None
    if "get_ipython" in code:  # the student's own calls stay as they are: the scan looks at those
        return tree
    for node in list(ast.walk(tree)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MAGIC_CALLS
                and isinstance(node.func.value, ast.Call) and getattr(node.func.value.func, "id", None) == "get_ipython"):
            runs_code = node.func.attr in ("run_line_magic", "run_cell_magic")
            bodies = [a.value for a in node.args[1:] if runs_code and isinstance(a, ast.Constant) and isinstance(a.value, str)]
            node.func, node.args = ast.Name(id="magic", ctx=ast.Load()), []
            tree.body += [stmt for body in bodies if (inner := parse(body)) is not None for stmt in inner.body]
    return tree


def findings(code):
    """Reasons this code deserves a look, in words; empty for ordinary answers."""
    tree = parse(code)
    if tree is None:
        return []
    found = [f"uses {name} ({why})" for name, why in REACHES.items() if name in _names(tree)]
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            if (isinstance(target, ast.Attribute) and _root(target) in PATCHABLE
                    and not ast.unparse(target).startswith(SETTINGS)):
                found.append(f"assigns to {ast.unparse(target)} (replaces a library function the tests rely on)")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" and node.args:
            if _root(node.args[0]) in PATCHABLE:
                found.append(f"calls {ast.unparse(node)[:60]} (replaces a library function the tests rely on)")
        if isinstance(node, ast.FunctionDef) and node.name in ("__eq__", "__ne__", "__bool__", "__lt__", "__gt__"):
            returns = [r.value for r in ast.walk(node) if isinstance(r, ast.Return)]
            if returns and all(isinstance(v, ast.Constant) for v in returns):
                found.append(f"defines {node.name} that always returns a constant (compares equal to anything)")
    return sorted(set(found))


def mentions(code, names=(), keys=()):
    """Which of ``names`` the code uses as a name or attribute, and which of ``keys`` it writes as a string
    (``data["test_images"]``), sorted; comments and other text do not count. Broken code is searched as text."""
    tree = parse(code)
    if tree is None:
        return sorted(n for n in (*names, *keys) if re.search(rf"\b{re.escape(n)}\b", code))
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return sorted(set(names) & _names(tree) | set(keys) & strings)


def suspicious(nb):
    """Findings over the student's cells (answers and added cells), each naming its cell."""
    return [f"{where}: {finding}" for where, code in student_code(nb) for finding in findings(code)]
