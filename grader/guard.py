"""Runs in every student kernel before any student code: puts back what a submission changed, and says so.

The grade is decided outside the kernel, from the data each question's probe records; this guard only
earns review flags. The grader marks the cells it trusts (setup cells and probes) with a first line
holding a secret that only this module and the grader know. Before each of them runs, everything a
submission could have patched is put back as it was before the first cell ran: comparison helpers
(math, torch, numpy, the course's checks), builtins, tracing, exit functions, IPython's input and AST
transformers, exception and display hooks, and the names setup cells bound. A probe first publishes a
token with its nonce and what had to be put back, which the grader turns into a reason to review.
"""
import builtins
import os
import sys
import threading

SECRET_FILE = ".grader-secret"
TOKEN_MIME = "application/vnd.course.grader-token+json"
# Modules whose functions tests rely on; a tuple names the only functions watched there.
WATCHED_MODULES = {"math": None, "cmath": None, "operator": None, "torch": None, "torch.testing": None,
                   "torch.nn.functional": None, "numpy": None, "numpy.testing": None, "course.checks": None,
                   "course.model_checks": None, "course.devices": None,
                   "sys": ("exit", "settrace", "setprofile", "_getframe"), "os": ("_exit", "kill", "abort")}

_MISSING = object()
# Swapped by ipykernel and IPython around every cell: not the submission's doing.
DYNAMIC_BUILTINS = {"input", "raw_input"}
DYNAMIC_SHELL_ATTRS = {"sys_excepthook"}
SHELL_PARTS = ("displayhook", "display_pub", "display_formatter", "compile", "input_transformer_manager", "events",
               "InteractiveTB", "SyntaxTB", "CustomTB", "builtin_trap", "display_trap")


def _read_secret():
    try:
        with open(SECRET_FILE) as f:
            secret = f.read().strip()
        os.remove(SECRET_FILE)
    except OSError:
        secret = None
    return secret


def _import(name):
    try:
        __import__(name)
        return sys.modules[name]
    except Exception:  # a missing optional module is simply not watched
        return None


def _from_notebook(value):
    """Whether ``value`` was made by code in the notebook (not by a library)."""
    func = getattr(value, "__func__", value)
    module = getattr(func, "__module__", None) if callable(func) else None
    return (module or type(value).__module__) == "__main__"


def _callables(namespace):
    return {k: v for k, v in namespace.items() if callable(v) or type(v).__name__ == "module"}


class Guard:
    def __init__(self, shell, secret):
        self.shell, self.secret = shell, secret
        self.transform = shell.transform_cell
        self.snapshot_taken = False
        self.trusted_names = {}
        self.findings = []  # what was put back since the last test cell
        self.setup_pending = False
        for name in WATCHED_MODULES:
            _import(name)
        from IPython.display import publish_display_data
        self.publish = publish_display_data
        shell.events.register("post_run_cell", self.post_run_cell)
        shell.transform_cell = self.transform_cell

    def snapshot(self):
        """Record the pristine state, at the first cell: before any submitted code has run, in the same
        state of IPython (traps, hooks) as every later check."""
        shell = self.shell
        self.builtins = {k: v for k, v in vars(builtins).items() if k not in DYNAMIC_BUILTINS}
        self.modules = {}
        for name, names in WATCHED_MODULES.items():
            module = sys.modules.get(name)
            if module is not None:
                pristine = _callables(vars(module))
                self.modules[name] = (module, {k: pristine[k] for k in names if k in pristine} if names else pristine)
        torch = sys.modules.get("torch")
        classes = ([torch.Tensor, torch.nn.Module] if torch else []) + list(type(shell).__mro__)
        self.class_dicts = {cls: _callables(dict(vars(cls))) for cls in classes if cls.__module__ != "builtins"}
        self.shell_attrs = {k: v for k, v in vars(shell).items() if callable(v) and k not in DYNAMIC_SHELL_ATTRS}
        self.shell_parts = {name: getattr(shell, name) for name in SHELL_PARTS}
        manager = shell.input_transformer_manager
        self.lists = [(owner, name, list(getattr(owner, name))) for owner, name in [
            (shell, "input_transformers_cleanup"), (shell, "input_transformers_post"), (shell, "ast_transformers"),
            (manager, "line_transforms"), (manager, "token_transformers")]]
        self.events = {name: list(cbs) for name, cbs in shell.events.callbacks.items()}
        self.hooks = {"stdout": sys.stdout, "stderr": sys.stderr}
        self.snapshot_taken = True

    # -- putting things back ------------------------------------------------------------------
    def _restore_namespace(self, label, namespace, pristine, setter):
        for key, value in pristine.items():
            current = namespace.get(key, _MISSING)
            if current is value:
                continue
            if current is not _MISSING and not _from_notebook(current):
                pristine[key] = current  # a library re-wrapping its own function (torch does): not tampering
                continue
            setter(key, value)
            self.findings.append(f"{label}.{key} was replaced")

    def restore(self):
        shell = self.shell
        self._restore_namespace("builtins", vars(builtins), self.builtins,
                                lambda k, v: setattr(builtins, k, v))
        for name, (module, pristine) in self.modules.items():
            self._restore_namespace(name, vars(module), pristine, lambda k, v, m=module: setattr(m, k, v))
        for cls, pristine in self.class_dicts.items():
            self._restore_namespace(cls.__name__, vars(cls), pristine, lambda k, v, c=cls: type.__setattr__(c, k, v))
            current = vars(cls)
            for key in [k for k in current if k not in pristine and _from_notebook(current[k])]:
                if any(key in vars(base) for base in cls.__mro__[1:]):  # overrides an inherited method
                    type.__delattr__(cls, key)
                    self.findings.append(f"{cls.__name__}.{key} was replaced")
        for key, value in list(vars(shell).items()):
            if key in DYNAMIC_SHELL_ATTRS or key == "transform_cell":
                continue
            if callable(value) and self.shell_attrs.get(key) is not value:
                if key in self.shell_attrs:
                    setattr(shell, key, self.shell_attrs[key])
                else:
                    delattr(shell, key)
                self.findings.append(f"the IPython shell's {key} was replaced")
        for name, part in self.shell_parts.items():
            if getattr(shell, name) is not part:
                setattr(shell, name, part)
                self.findings.append(f"the IPython shell's {name} was replaced")
        if shell.transform_cell != self.transform_cell:
            shell.transform_cell = self.transform_cell
            self.findings.append("the IPython shell's transform_cell was replaced")
        for owner, name, pristine in self.lists:
            current = getattr(owner, name)
            if list(current) != pristine:
                current[:] = pristine  # in place: some of these lists are aliases of others
                self.findings.append(f"IPython {name} were changed")
        for name, pristine in self.events.items():
            current = shell.events.callbacks.get(name, [])
            kept = [cb for cb in current if cb in pristine or not _from_notebook(cb)]  # libraries add some
            if kept != list(current) or any(cb not in current for cb in pristine):
                shell.events.callbacks[name] = list(pristine) + [cb for cb in kept if cb not in pristine]
                self.findings.append(f"IPython '{name}' event callbacks were changed")
        if shell.custom_exceptions:
            shell.custom_exceptions = ()
            self.findings.append("a custom exception handler (set_custom_exc) was installed")
        for name, hook in self.hooks.items():
            if getattr(sys, name) is not hook:
                setattr(sys, name, hook)
                self.findings.append(f"sys.{name} was replaced")
        if sys.gettrace() or sys.getprofile():
            self.findings.append("a trace or profile function (sys.settrace / sys.setprofile) was set")
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        threading.setprofile(None)
        user_ns = shell.user_ns
        for key, value in self.trusted_names.items():
            current = user_ns.get(key, _MISSING)
            if current is not value:
                user_ns[key] = value
                if current is _MISSING or _from_notebook(current):
                    self.findings.append(f"the name {key!r}, which the tests use, was rebound")

    def remember_trusted_names(self):
        """After a setup cell: the helpers and modules it bound are what tests may rely on."""
        self.trusted_names = {k: v for k, v in self.shell.user_ns.items()
                              if not k.startswith("_") and (type(v).__name__ == "module" or (
                                  callable(v) and getattr(v, "__module__", "") and
                                  getattr(v, "__module__", "").split(".")[0] in ("course", "torch", "numpy", "math")))}

    # -- cells ---------------------------------------------------------------------------------
    def transform_cell(self, raw_cell):
        if not self.snapshot_taken:
            self.snapshot()
        first, _, rest = raw_cell.partition("\n")
        parts = first.split()
        if len(parts) != 4 or parts[0] != "#grader" or parts[1] != self.secret:
            return self.transform(raw_cell)
        kind, nonce = parts[2], parts[3]
        self.restore()
        code = self.transform(rest)
        if kind == "setup":
            self.setup_pending = True
            return code
        # The question's probe first reports what had to be put back before it ran.
        return f"__import__('grader_guard').GUARD.report({nonce!r})\n{code}\n"

    def post_run_cell(self, result):
        if self.setup_pending:
            self.setup_pending = False
            self.remember_trusted_names()

    def report(self, nonce):
        findings, self.findings = sorted(set(self.findings)), []
        self.publish({TOKEN_MIME: {"nonce": nonce, "tampered": findings}})


GUARD = None


def install():
    global GUARD
    secret = _read_secret()
    shell = getattr(builtins, "get_ipython", lambda: None)()
    if secret and shell is not None and GUARD is None:
        GUARD = Guard(shell, secret)


install()
