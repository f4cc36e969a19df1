"""Make an autograded notebook safe to render: nothing a submission put in it can run in a browser.

The feedback page (`nbgrader generate_feedback`) and the Formgrader (on the instructor's Jupyter origin)
both render the autograded notebook with nbconvert's templates, which paste HTML, markdown, SVG and
JavaScript outputs into the page as they are. Every code cell ran in the student's kernel, so every
output is untrusted, and so is every markdown cell that is not the instructor's own:

- ``stream`` and ``error`` outputs are kept (the templates escape them), their fields forced to text;
- of ``display_data`` and ``execute_result`` only ``text/plain``, ``text/html`` and ``text/markdown``
  (both rendered to HTML and sanitized, kept as ``text/html``) and ``image/png`` / ``image/jpeg`` whose
  value is strictly base64 are kept; JavaScript, SVG, LaTeX, widgets, PDF, JSON and any other type are
  dropped, with a plain line saying so when nothing else is left; of their metadata only integer
  width and height are kept (the templates paste them into unquoted attributes);
- markdown (and raw) cells that are not exactly an instructor cell (answer cells, cells the student
  added, the grader's notes, which quote file names and grade ids from the submission) are rendered with
  nbconvert's own markdown renderer and sanitized, so links and images with ``javascript:`` or
  ``data:text/html`` URLs go too; their attachments other than base64 PNG/JPEG are dropped;
- execution counts must be integers and cell ids must match nbformat's pattern (the templates paste both
  into the page), and a student-added cell keeps no metadata but its marker.

The feedback page embeds images (`grader.feedback`) after this, at render time: the instructor's figures
stay as they are here, and a relative ``<img src>`` left in a student's cell becomes at most a data: URL
of a file beside the autograded notebook, still in an ``<img>``, where no browser runs script.

The notebook's own metadata (``widgets`` there would load widget JavaScript) is the instructor's:
`grader.assemble` rebuilds the notebook from the source and takes only cells from the submission.

The sanitizer is nh3 (Python bindings to ammonia, a Rust allowlist sanitizer on html5ever, the HTML5
parser of Servo): maintained, spec-compliant parsing, and URL schemes checked after decoding. nbconvert's
own SanitizeHTML uses bleach, whose maintainers ended its maintenance (no releases, security ones
included) and which vendors an equally unmaintained html5lib.
"""
import base64
import binascii
import copy
import html
import re
import uuid
from pathlib import Path

import nbformat
import nh3

from grader.cells import is_answer, student_added

REMOVED = "[grader: an output that could run code in the browser was removed]"
IMAGES = ("image/png", "image/jpeg")
CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # nbformat 4.5's cell id pattern
BASE64 = re.compile(r"^[A-Za-z0-9+/\n]*={0,2}\n?$")
DATA_IMAGE = re.compile(r"^data:image/(png|jpeg);base64,([A-Za-z0-9+/]*={0,2})$")
URL_ATTRIBUTES = {"href", "src", "cite", "action", "formaction", "background", "poster", "srcset", "longdesc"}


def notebook(nb, instructor):
    """Sanitize ``nb`` in place before it is written as an autograded notebook; returns it.

    ``instructor`` is the instructor's source notebook (or its path): a markdown cell that is exactly
    one of its non-answer markdown cells is trusted and left as it is (figures, raw HTML and all).
    """
    if not isinstance(instructor, nbformat.NotebookNode):
        instructor = nbformat.read(str(Path(instructor)), as_version=4)
    trusted = {c.source for c in instructor.cells if c.cell_type in ("markdown", "raw") and not is_answer(c)}
    for cell in nb.cells:
        if not isinstance(cell.get("id"), str) or not CELL_ID.match(cell["id"]):
            cell["id"] = uuid.uuid4().hex[:8]
        if student_added(cell):
            cell["metadata"] = nbformat.NotebookNode(student_added=True)
        if cell.get("cell_type") == "code":
            cell["execution_count"] = _count(cell.get("execution_count"))
            outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
            cell["outputs"] = [_output(output) if isinstance(output, dict) else _removed() for output in outputs]
        elif is_answer(cell) or student_added(cell) or cell.get("source") not in trusted:
            _untrusted_text_cell(cell)
    return nb


def html_fragment(text):
    """``text`` (HTML from a submission) with only what cannot run code: no script, handler, style or form,
    no URL but http(s), mailto and relative ones, and data: URLs only for base64 PNG/JPEG images."""
    return nh3.clean(str(text), url_schemes={"http", "https", "mailto", "data"}, attribute_filter=_attribute,
                     strip_comments=True)


def markdown_to_html(text, attachments=None):
    """Markdown as nbconvert renders it (math kept for MathJax, attachments inlined), then sanitized."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
    try:
        rendered = MarkdownWithMath(renderer=IPythonRenderer(
            escape=False, exclude_anchor_links=True, attachments=_Attachments(attachments or {}))).render(str(text))
    except Exception:  # e.g. a missing attachment: show the text itself
        rendered = f"<pre>{html.escape(str(text))}</pre>"
    return html_fragment(rendered)


class _Attachments(dict):
    """A cell's attachments as the renderer reads them: one that is missing (or was dropped) is an empty image."""

    def __contains__(self, name):
        return True

    def __missing__(self, name):
        return {"image/png": ""}


def _attribute(tag, name, value):
    """nh3's last word on each attribute it allows: data: URLs only as base64 PNG/JPEG image sources."""
    if name in URL_ATTRIBUTES and "data:" in re.sub(r"[\x00-\x20]", "", value).lower():
        return value if tag == "img" and name == "src" and _data_image(value) else None
    return value


def _data_image(url):
    match = DATA_IMAGE.match(url)
    return bool(match) and _base64(match.group(2))


def _base64(value):
    if not isinstance(value, str) or not BASE64.match(value):
        return False
    try:
        base64.b64decode(value.replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _count(value):
    return value if type(value) is int else None


def _text(value):
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value if isinstance(value, str) else str(value)


def _output(output):
    """The safe version of one output."""
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=_text(output.get("text", "")))
    if kind == "error":
        traceback = output.get("traceback")
        return nbformat.v4.new_output(
            "error", ename=_text(output.get("ename", "")), evalue=_text(output.get("evalue", "")),
            traceback=[_text(t) for t in traceback] if isinstance(traceback, list) else [_text(traceback)])
    if kind not in ("display_data", "execute_result"):
        return _removed()
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    safe = {}
    shown = (html_fragment(_text(data["text/html"])) if "text/html" in data
             else markdown_to_html(_text(data["text/markdown"])) if "text/markdown" in data else "")
    if shown.strip():  # an output of only a <script> or an <iframe> leaves nothing to show
        safe["text/html"] = shown
    for mime in IMAGES:
        if mime in data and _base64(data[mime]):
            safe[mime] = data[mime]
    if "text/plain" in data:
        safe["text/plain"] = _text(data["text/plain"])
    if not safe:
        return _removed()
    metadata = {}
    given = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
    for mime in IMAGES:
        if mime in safe and isinstance(given.get(mime), dict):
            sizes = {k: v for k, v in given[mime].items() if k in ("width", "height") and _size(v)}
            if sizes:
                metadata[mime] = sizes
    sizes = {k: v for k, v in given.items() if k in ("width", "height") and _size(v)}
    metadata.update(sizes if any(m in safe for m in IMAGES) else {})
    if kind == "execute_result":
        return nbformat.v4.new_output(kind, data=safe, metadata=metadata,
                                      execution_count=_count(output.get("execution_count")))
    return nbformat.v4.new_output(kind, data=safe, metadata=metadata)


def _size(value):
    return type(value) is int and 0 < value < 100_000


def _removed():
    return nbformat.v4.new_output("display_data", data={"text/plain": REMOVED}, metadata={})


def _untrusted_text_cell(cell):
    """A markdown or raw cell from the student (or quoting them): its source becomes sanitized HTML."""
    attachments = cell.get("attachments") if isinstance(cell.get("attachments"), dict) else {}
    kept = {name: {mime: value for mime, value in bundle.items() if mime in IMAGES and _base64(value)}
            for name, bundle in attachments.items() if isinstance(bundle, dict)}
    kept = {name: bundle for name, bundle in kept.items() if bundle}
    if cell.get("cell_type") == "markdown":
        cell["source"] = _one_block(markdown_to_html(_text(cell.get("source", "")), copy.deepcopy(kept)))
    else:  # raw (or unknown): HTML templates paste a raw cell's source into the page
        cell["cell_type"] = "raw"
        cell["source"] = html_fragment(html.escape(_text(cell.get("source", "")), quote=False))
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    if kept:
        cell["attachments"] = kept
    else:
        cell.pop("attachments", None)


def _one_block(fragment):
    """Sanitized HTML as markdown that renders to exactly it: one line in a <div>, so the markdown
    renderer takes it as one raw HTML block and never parses its text again (a blank line would end the
    block, and text after it would be read as markdown: a link written as text could become a link)."""
    return "<div>" + fragment.replace("\r", "&#13;").replace("\n", "&#10;") + "</div>"
