"""The CUDA side of the device contract: every hidden test also runs the reference answers on a GPU."""
import nbformat
import pytest
import torch
from nbclient import NotebookClient

from lessons import LESSONS, source_path


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here: torch.cuda.is_available() is False")
@pytest.mark.parametrize("lesson", LESSONS)
def test_hidden_tests_pass_on_cuda(lesson, monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    nb = nbformat.read(str(source_path(lesson)), as_version=4)
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(source_path(lesson).parent)}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "checked on cpu, cuda" in printed and "cuda skipped" not in printed
