"""The check helpers and device choice that every hidden test relies on."""
import re

import pytest
import torch
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from course import checks, devices


def shown(error):
    """What a student sees for ``error`` in a notebook: its rendered lines, colors removed."""
    return plain(error._render_traceback_())


def plain(traceback):
    """An error output's ``traceback`` as lines of text, as the notebook and Validate show it."""
    return [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in "\n".join(traceback).splitlines()]


def test_check_close_accepts_a_match_and_names_a_known_mistake():
    checks.check_close(torch.tensor([[0.15951]]), [[0.1595]], "y", atol=1e-4)
    with pytest.raises(AssertionError, match="y is wrong: did you forget the bias"):
        checks.check_close(torch.tensor([[0.1214]]), [[0.1595]], "y", atol=1e-4,
                           mistakes={"did you forget the bias?": [[0.1214]]})


def test_check_close_reports_expected_and_actual_values():
    with pytest.raises(AssertionError, match=r"y: expected \[1.0000, 2.0000\] but got \[1.0000, 3.0000\]"):
        checks.check_close(torch.tensor([1.0, 3.0]), [1.0, 2.0], "y")


def test_shape_hint_names_the_mistake():
    with pytest.raises(AssertionError, match=r"expected shape \(1, 1\) but got \(1, 5\): did you forget to sum"):
        checks.check_close(torch.ones(1, 5), [[1.0]], "y", shape_hints={(1, 5): "did you forget to sum the products?"})


def test_nan_gets_its_own_message():
    with pytest.raises(AssertionError, match="contains nan: subtract the max"):
        checks.check_close(torch.tensor([float("nan")]), [0.5], "p", nan_hint="subtract the max")


def test_non_tensor_results_are_explained():
    with pytest.raises(AssertionError, match="should be a torch.Tensor but is NoneType"):
        checks.check_shape(None, (1,), "y")


def test_call_turns_errors_into_hints():
    def hard_coded(x):
        return x.view(64, -1)

    with pytest.raises(AssertionError, match=r"raised RuntimeError \(.*invalid for input of size.*\): use images.shape"):
        checks.call(hard_coded, torch.ones(5, 784), name="forward",
                    hints={"invalid for input of size": "use images.shape[0]"})

    def blank(x):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.call(blank, 1, name="f")



def test_call_vectorized_passes_whole_tensor_code_and_catches_python_loops():
    def vectorized(x):
        return (x[:, None] - x[None, :]).abs().sum(dim=1)

    def looped(x):
        return torch.stack([sum((a - b).abs() for b in x) for a in x])

    x = torch.arange(10.0)
    assert torch.equal(checks.call_vectorized(vectorized, x, name="f", limit=20), looped(x))
    with pytest.raises(AssertionError, match=r"f ran \d+ tensor operations where 20 are plenty: did you loop"):
        checks.call_vectorized(looped, x, name="f", limit=20)


def test_check_unchanged_names_in_place_changes():
    x = torch.tensor([-1.0, 2.0])
    before = x.clone()
    checks.check_unchanged(x, before, "f(x)")
    x.clamp_(min=0)
    with pytest.raises(AssertionError, match=r"f\(x\) changed the tensor it was given: work on a copy"):
        checks.check_unchanged(x, before, "f(x)")


def test_simulated_gpu_refuses_numpy_until_moved_to_the_cpu():
    t = checks.simulated_gpu(torch.arange(3.0, requires_grad=True))
    with pytest.raises(TypeError, match=r"Use Tensor.cpu\(\)"):
        t.detach().numpy()
    with pytest.raises(TypeError, match="cuda"):
        (t * 2).detach().to(torch.float64).numpy()  # a dtype change is not a move
    for moved in (t.detach().cpu(), t.detach().to("cpu"), t.detach().to(device=torch.device("cpu"))):
        assert moved.numpy().tolist() == [0.0, 1.0, 2.0]
    assert t.numpy(force=True).tolist() == [0.0, 1.0, 2.0]

def test_check_device_explains_how_to_fix():
    checks.check_device(torch.ones(1), torch.device("cpu"), "y")
    with pytest.raises(AssertionError, match="device=x.device"):
        checks.check_device(torch.ones(1), torch.device("meta"), "y")


def test_seeded_inputs_do_not_depend_on_the_global_seed():
    torch.manual_seed(0)
    a = checks.seeded_randn(3, seed=1)
    torch.manual_seed(99)
    assert torch.equal(a, checks.seeded_randn(3, seed=1))
    assert checks.seeded_randn(2, seed=1, dtype=torch.float64).dtype == torch.float64


def test_course_device_forces_one_device(monkeypatch):
    monkeypatch.setenv(devices.ENV_VAR, "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.default_device() == torch.device("cpu")


def test_course_device_errors_say_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv(devices.ENV_VAR, "cuda")
    with pytest.raises(RuntimeError, match="unset it, or install the CUDA build"):
        devices.default_device()
    monkeypatch.setenv(devices.ENV_VAR, "gpu")
    with pytest.raises(ValueError, match="use 'cpu' or 'cuda'"):
        devices.default_device()


def test_tolerance_is_looser_on_cuda_for_tf32():
    cpu_rtol, _ = checks.tolerance("cpu")
    cuda_rtol, _ = checks.tolerance("cuda")
    assert cuda_rtol > cpu_rtol


def test_check_parameters_names_the_mistake():
    from torch import nn

    from course.model_checks import check_parameters

    class Listed(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [nn.Linear(2, 2)]

    spec = {"fc.weight": (2, 3), "fc.bias": (2,)}
    with pytest.raises(AssertionError, match="no parameters.*use nn.ModuleList"):
        check_parameters(Listed(), spec, "m")
    renamed = nn.Sequential()
    renamed.add_module("fci", nn.Linear(3, 2))
    with pytest.raises(AssertionError, match=r"\['fci.bias', 'fci.weight'\] where \['fc.bias', 'fc.weight'\]"):
        check_parameters(renamed, spec, "m")
    wrong_size = nn.Sequential()
    wrong_size.add_module("fc", nn.Linear(4, 2))
    with pytest.raises(AssertionError, match=r"fc.weight has shape \(2, 4\) but should have \(2, 3\): in_features"):
        check_parameters(wrong_size, spec, "m", hints={"fc.weight": "in_features is 3"})
    right = nn.Sequential()
    right.add_module("fc", nn.Linear(3, 2))
    check_parameters(right, spec, "m")


def test_seeded_weights_load_reproducibly_and_mismatches_are_explained():
    from torch import nn

    from course.model_checks import load_weights, seeded_state_dict

    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    load_weights(a, seeded_state_dict(a, seed=5), "a")
    load_weights(b, seeded_state_dict(b, seed=5), "b")
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    with pytest.raises(AssertionError, match=r"(?s)loading known weights into c raised RuntimeError.*check the layer names"):
        load_weights(nn.Sequential(nn.Linear(3, 2)), seeded_state_dict(a, seed=5), "c")


def test_a_failed_check_shows_its_hint_wrapped_and_no_frames_of_the_course():
    x = torch.tensor([-1.0, 2.0])
    with pytest.raises(checks.CheckFailed) as failed:
        checks.check_unchanged(x.clamp_(min=0), torch.tensor([-1.0, 2.0]), "clip(x)")
    assert isinstance(failed.value, AssertionError) and str(failed.value).startswith("clip(x) changed the tensor")
    lines = shown(failed.value)
    assert lines[0].startswith("Check failed: clip(x) changed the tensor it was given")
    assert " ".join(lines) == f"Check failed: {failed.value}"  # all of the hint, nothing else
    assert len(lines) > 1 and all(len(line) <= checks.WIDTH for line in lines)

    def f():
        raise NotImplementedError()

    with pytest.raises(checks.CheckFailed) as blank:  # the hint says it all: no frames
        checks.call(f, name="f()")
    assert shown(blank.value) == ["Check failed: f(): not implemented yet. Replace `raise NotImplementedError()`",
                                  "with your code"]


def test_an_error_in_the_students_code_shows_their_lines_only():
    class Flatten(torch.nn.Module):
        def forward(self, x):
            return flatten(x)

    def flatten(x):
        return x.view(64, -1)

    with pytest.raises(AssertionError) as failed:
        checks.call(Flatten(), torch.ones(5, 784), name="model(images)", hints={"invalid for input": "use -1"})
    lines = shown(failed.value)
    assert lines[0].startswith("Check failed: model(images) raised RuntimeError (shape '[64, -1]' is invalid")
    where = lines.index("Where it happened in the notebook:")
    assert lines[where - 1].endswith(": use -1")
    # only these two frames: neither course.checks.call nor torch's Module.__call__
    assert [line.split(", in ")[-1] for line in lines[where + 1::2]] == ["forward", "flatten"]
    assert lines[where + 2::2] == ["    return flatten(x)", "    return x.view(64, -1)"]

    def countdown(n):
        return countdown(n - 1) if n else 1 / n

    with pytest.raises(AssertionError) as deep:
        checks.call(countdown, 6, name="countdown(6)")
    lines = shown(deep.value)
    assert lines[2:4] == [f"  ... {7 - checks.SHOWN_FRAMES} earlier calls not shown",
                          f"  {__file__}, line {countdown.__code__.co_firstlineno + 1}, in countdown"]
    assert len(lines) == 3 + 2 * checks.SHOWN_FRAMES


def test_a_failed_check_in_a_kernel_is_its_hint_and_the_students_line(tmp_path):
    """The error output a notebook shows (and Validate prints): a few lines, hint first, then the student's line."""
    nb = new_notebook(cells=[new_code_cell("import torch\nfrom course.checks import call\n\n"
                                           "def flatten(x):\n    return x.view(64, -1)"),
                             new_code_cell('call(flatten, torch.ones(5, 784), name="flatten(images)")')],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    NotebookClient(nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    error = nb.cells[1].outputs[-1]
    assert error.output_type == "error" and error.ename == "CheckFailed"
    assert error.evalue.startswith("flatten(images) raised RuntimeError (shape '[64, -1]' is invalid")
    lines = plain(error.traceback)
    assert lines[0].startswith("Check failed: flatten(images) raised RuntimeError"), lines
    assert lines[-3:] == ["Where it happened in the notebook:", "  Cell In[1], line 5, in flatten",
                          "    return x.view(64, -1)"], lines
    assert len(lines) <= 6, lines


def test_check_is_an_assert_that_fails_with_its_hint():
    checks.check(torch.tensor(True), "never shown")
    with pytest.raises(checks.CheckFailed) as failed:
        checks.check((2, 3) == (3, 2), "transpose swaps the two dimensions")
    assert failed.value._render_traceback_()[1:] == [] and "transpose swaps" in failed.value._render_traceback_()[0]
