"""`make lab` serves the released notebooks, with their figures, nbgrader's JupyterLab extension and no news popup."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

from lessons import LESSONS, REPO, image_refs, released


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.status, response.read()


def test_make_lab_serves_the_student_notebooks(tmp_path):
    port, token = free_port(), "course-test"
    args = (f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} "
            f"--ServerApp.runtime_dir={tmp_path / 'runtime'}")
    lab = subprocess.Popen(["make", "--no-print-directory", "-o", ".venv/.installed", "lab", f"LAB_ARGS={args}"], cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a guard against a hang, however busy the machine
        while True:
            try:
                fetch(f"{base}/api/status?token={token}")
                break
            except OSError:
                assert lab.poll() is None, f"make lab exited early:\n{lab.stdout.read()}"
                assert time.monotonic() < deadline, "make lab did not answer in 5 minutes"
                time.sleep(0.5)
        for lesson in LESSONS:
            status, body = fetch(f"{base}/api/contents/{lesson}/{lesson}.ipynb?token={token}")
            served = [cell["source"] for cell in json.loads(body)["content"]["cells"]]
            assert status == 200 and served == [cell.source for cell in released(lesson).cells]
            for ref in image_refs(released(lesson)):
                status, png = fetch(f"{base}/files/{lesson}/{ref}?token={token}")
                assert status == 200 and png.startswith(b"\x89PNG"), ref
        _, page = fetch(f"{base}/lab?token={token}")
        assert b"nbgrader" in page, "nbgrader's JupyterLab extension should be installed"
        _, body = fetch(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}")
        defaults = {key: value.get("default") for key, value in json.loads(body)["schema"]["properties"].items()}
        assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults
    finally:
        os.killpg(lab.pid, signal.SIGTERM)  # make and the server it started
        try:
            lab.wait(timeout=120)  # a guard against a hang: a loaded machine may take a while to shut down
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            raise
