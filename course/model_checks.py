"""Checks for nn.Module exercises: parameter names and shapes, and loading known weights."""

from course.checks import CheckFailed, call, seeded_randn

LOAD_HINTS = {
    "Missing key": "the model's parameter names differ from the ones asked for: check the layer names",
    "size mismatch": "a layer has the wrong size: check in_features / out_features (or channels and kernel size)",
}


def check_parameters(model, expected, name, hints=None):
    """Fail unless ``model``'s parameters have exactly the names and shapes in ``expected`` (name -> shape).

    ``hints`` maps a parameter name to what probably went wrong when it is missing, extra or misshapen.
    """
    hints = hints or {}
    got = {key: tuple(p.shape) for key, p in model.named_parameters()}
    if not got:
        raise CheckFailed(f"{name} has no parameters: call super().__init__() first, and assign each layer to an "
                          "attribute (self.fc1 = nn.Linear(...)). Layers in a plain Python list are invisible to "
                          "PyTorch: use nn.ModuleList")
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    for key in missing + extra:
        if key in hints:
            raise CheckFailed(f"{name}: {key} is {'missing' if key in missing else 'not expected'}: {hints[key]}")
    if missing or extra:
        raise CheckFailed(f"{name} has parameters {extra or 'none'} where {missing} were expected: name the layers "
                          "exactly as asked, and use the same names in forward")
    for key, shape in expected.items():
        if got[key] != tuple(shape):
            raise CheckFailed(f"{name}: {key} has shape {got[key]} but should have {tuple(shape)}"
                              + (f": {hints[key]}" if key in hints else ""))


def seeded_state_dict(model, seed, device="cpu", scale=0.3):
    """Reproducible weights for every parameter of ``model``: a state dict to load into it."""
    return {key: scale * seeded_randn(*p.shape, seed=seed + i, device=device)
            for i, (key, p) in enumerate(model.named_parameters())}


def load_weights(model, state, name):
    """``model.load_state_dict(state)``, with a hint when names or sizes don't match."""
    call(model.load_state_dict, state, name=f"loading known weights into {name}", hints=LOAD_HINTS)
