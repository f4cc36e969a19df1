"""Candidate answers copied from what students can read: visible code cells and code in the prose.

A lesson gives an exercise away when a student can copy something visible (a worked example, a helper in
a public test, a line of prose) and earn the points. ``candidates`` turns every visible snippet into the
answer to each exercise it resembles, the way a student would paste it: a visible function or class is
wrapped under the exercise's name; an example computation becomes a function whose parameters are the
example's inputs and whose result is one of the values it prints or ends with.
"""
import ast
import builtins
import difflib
import io
import re
import tokenize
from dataclasses import dataclass

from grader import submissions

MODULES = {"torch", "np", "numpy", "math", "nn", "F", "plt", "optim", "random", "time", "os"}
RESEMBLANCE = 0.6  # the share of the solution's tokens a snippet holds, in order, to count as resembling it
INLINE = re.compile(r"(?<!`)`([^`\n]{12,})`(?!`)")
FENCED = re.compile(r"```(?:python)?\n(.*?)```", re.S)


@dataclass(frozen=True)
class Candidate:
    cell: str  # the answer cell it is submitted as
    code: str
    origin: str  # where a student would read it


def snippets(released):
    """(where, code) for every visible code cell and every piece of code in the prose that parses."""
    found = []
    for index, cell in enumerate(released.cells):
        if cell.cell_type == "code" and not cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            found.append((f"code cell {index + 1}", cell.source))
        elif cell.cell_type == "markdown":
            for code in FENCED.findall(cell.source) + INLINE.findall(cell.source):
                found.append((f"the prose of cell {index + 1}", code))
    return [(where, code) for where, code in found if _parses(code)]


def _parses(code):
    try:
        ast.parse(code)
        return True
    except SyntaxError:
        return False


def _tokens(code):
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.string.strip()]
    except (tokenize.TokenError, IndentationError):
        return code.split()


def resemblance(code, solution):
    """The share of the solution's body (its tokens, in order) that ``code`` holds."""
    body = _tokens(solution)
    body = body[body.index(":") + 1:] if body[:1] == ["def"] else body  # the signature is given away anyway
    blocks = difflib.SequenceMatcher(None, _tokens(code), body, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks) / max(1, len(body))


def exercises(source):
    """answer cell -> (the name it defines, its parameters or None for a class, the solution's code)."""
    out = {}
    for key, code in submissions.solution_answers(source).items():
        tree = ast.parse(code)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                out[key] = (node.name, [a.arg for a in node.args.args], code)
                break
            if isinstance(node, ast.ClassDef):
                out[key] = (node.name, None, code)
                break
    return out


def _bound_inside(statement):
    """Names a statement binds for its own use: loop and comprehension variables, ``except ... as``, ``with
    ... as``, lambda parameters. A student pasting the snippet supplies none of them."""
    names = {n.arg for n in ast.walk(statement) if isinstance(n, ast.arg)}
    names |= {n.name for n in ast.walk(statement) if isinstance(n, ast.ExceptHandler) and n.name}
    for node in ast.walk(statement):
        for target in ([node.target] if isinstance(node, (ast.For, ast.comprehension)) else
                       [i.optional_vars for i in node.items if i.optional_vars] if isinstance(node, ast.With) else []):
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def _inputs_and_results(tree):
    """(names holding the example's inputs, expressions it shows) of a snippet with no definitions."""
    assigned, inputs, results = set(), [], []
    for statement in tree.body:
        loads = [n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
        assigned |= _bound_inside(statement)
        for name in loads:
            if name not in assigned and name not in MODULES and not hasattr(builtins, name) and name not in inputs:
                inputs.append(name)  # free: the example's input
        if isinstance(statement, ast.Assign):
            targets = [t.id for t in statement.targets if isinstance(t, ast.Name)]
            if not any(n in assigned or n in inputs for n in loads if n not in MODULES):
                inputs += [t for t in targets if t not in inputs]  # built from constants: an input too
            assigned.update(targets)
        elif isinstance(statement, ast.Expr):
            value = statement.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print":
                results += value.args
            else:
                results.append(value)
    return inputs, results


def _binding(inputs, params):
    """input -> parameter: by name when every input is named like a parameter, else in order; None if neither."""
    if set(inputs) <= set(params):
        return {i: i for i in inputs}
    return dict(zip(inputs, params)) if len(inputs) == len(params) else None


def _as_function(name, params, tree, binding, result):
    """The snippet as ``def name(params)``: its inputs bound to the parameters, returning ``result``."""
    body = [f"    {i} = {p}" for i, p in binding.items() if i != p]
    inputs = set(binding)
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) and t.id in inputs for t in statement.targets):
            continue  # the example's own input values
        if isinstance(statement, ast.Expr):
            continue
        body += ["    " + line for line in ast.unparse(statement).splitlines()]
    body.append(f"    return {ast.unparse(result)}")
    return f"def {name}({', '.join(params)}):\n" + "\n".join(body)


def candidates(source, released):
    """Every visible snippet, as the answer to each exercise it resembles."""
    out = []
    targets = exercises(source)
    for where, code in snippets(released):
        tree = ast.parse(code)
        defined = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        for cell, (name, params, solution) in targets.items():
            for node in defined:  # a visible function or class, pasted under the exercise's name
                inside = ast.unparse(node.body) if isinstance(node, ast.FunctionDef) else ast.unparse(node)
                if resemblance(inside, solution) >= RESEMBLANCE or node.name == name:
                    alias = (f"def {name}(*args, **kwargs):\n    return {node.name}(*args, **kwargs)"
                             if params is not None else f"{name} = {node.name}")
                    pasted = code if node.name != name else ast.unparse(node)
                    out.append(Candidate(cell, pasted if node.name == name else f"{pasted}\n\n{alias}",
                                         f"{node.name} in {where}"))
            if defined or params is None:
                continue
            inputs, results = _inputs_and_results(tree)
            binding = _binding(inputs, params) if inputs else None
            if binding is None:
                continue
            for result in results:
                names = {n.id for n in ast.walk(result) if isinstance(n, ast.Name)}
                if not names - MODULES:
                    continue
                function = _as_function(name, params, tree, binding, result)
                if resemblance(function.split("\n", 1)[1], solution) >= RESEMBLANCE:
                    out.append(Candidate(cell, function, f"{ast.unparse(result)[:60]} in {where}"))
    return list({(c.cell, c.code): c for c in out}.values())
