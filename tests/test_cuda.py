"""The CUDA side of the device contract: on a GPU machine every probe also runs the answers on CUDA."""
import pytest
import torch

from lessons import LESSONS


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here: torch.cuda.is_available() is False")
@pytest.mark.parametrize("lesson", LESSONS)
def test_the_solution_is_judged_on_cuda_too(graded, references, lesson):
    devices = {entry.device.split(":")[0] for record in references(lesson).expected.values()
               for entry in record.values() if entry.is_array}
    assert "cuda" in devices, f"{lesson}: no probe recorded a CUDA result"
    assert graded(lesson)["solution"].lost() == [], "the solution must keep full marks with its CUDA checks"
