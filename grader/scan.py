"""Read student code, outside the kernel, for things a course answer never needs and a cheat does."""
import ast

from grader.cells import grade_id, is_answer, student_added
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


def findings(code):
    """Reasons this code deserves a look, in words; empty for ordinary answers."""
    try:
        tree = in_turn(ast.parse, code)
    except SyntaxError:
        return []  # IPython magics or broken code: the kernel reports what is wrong
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


def suspicious(nb):
    """Findings over the student's cells (answers and added cells), each naming its cell."""
    out = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (is_answer(cell) or student_added(cell)):
            where = grade_id(cell) or f"added cell {index + 1}"
            out += [f"{where}: {finding}" for finding in findings(cell.source)]
    return out
