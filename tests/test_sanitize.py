"""grader.sanitize on tiny notebooks: every way an output or a student's markdown could run script comes out
inert, through nbconvert's own templates too; text, real images and the instructor's cells come out unchanged."""
import base64
import struct
import zlib
from html.parser import HTMLParser

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from grader import sanitize
from grader.sanitize import REMOVED
from lessons import REPO

new_output, new_code, new_markdown = nbformat.v4.new_output, nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
JS = "alert(document.domain)"


def png(width=3, height=2):
    rows = b"".join(b"\x00" + b"\xc8\x1e\x1e" * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")).decode()


PNG = png()
INSTRUCTOR_MARKDOWN = ('## A figure\n\n![a neuron](figures/neuron.svg)\n\n<img src="figures/net.svg" width="300">\n\n'
                       '<div class="alert alert-info">raw HTML the instructor wrote</div>')
HTML_VECTORS = {
    "script tag": f"<script>{JS}</script>",
    "img onerror": f'<img src="x" onerror="{JS}">',
    "svg onload": f'<svg onload="{JS}"><circle r="4"/></svg>',
    "iframe srcdoc": f"<iframe srcdoc=\"<script>{JS}</script>\"></iframe>",
    "javascript link": f'<a href="javascript:{JS}">click</a>',
    "entity-encoded javascript link": '<a href="jav&#x09;ascript:alert(1)">click</a>',
    "data:text/html link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "style": "<style>body { display: none }</style><b style=\"position: fixed; inset: 0\">cover</b>",
    "meta refresh": f"<meta http-equiv=\"refresh\" content=\"0; url=javascript:{JS}\">",
    "object": f'<object data="data:text/html,<script>{JS}</script>"></object>',
    "embed": '<embed src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
    "form javascript action": f'<form action="javascript:{JS}"><button formaction="javascript:{JS}">go</button></form>',
    "base href": '<base href="https://attacker.example/">',
    "math href": "<math><maction actiontype=\"statusline\" xlink:href=\"javascript:alert(1)\">x</maction></math>",
}
MARKDOWN_VECTORS = {
    "javascript link": f"[click](javascript:{JS})",
    "encoded javascript link": "[click](JaVa&#x53;cript:alert(1))",
    "reference javascript link": "[click][x]\n\n[x]: javascript:alert(1)",
    "javascript autolink": "<javascript:alert(1)>",
    "data:text/html image": "![i](data:text/html,<script>alert(1)</script>)",
    "raw img onerror": f'<img src=x onerror="{JS}">',
    "script after blank line in raw HTML": f"<b>\n\n[x](javascript:{JS})",
    "raw HTML block hiding a link": f"<script>\n\n[x](javascript:{JS})\n</script>",
    **{f"raw {name}": vector for name, vector in HTML_VECTORS.items()},
}
UNSAFE_TAGS = {"script", "iframe", "object", "embed", "form", "button", "meta", "style", "svg", "base", "math", "link"}


def instructor_notebook():
    return nbformat.v4.new_notebook(cells=[new_markdown(INSTRUCTOR_MARKDOWN), new_code("x = 1")])


def student_cell(cell):
    cell.metadata["student_added"] = True
    return cell


def display(data, metadata=None, kind="display_data"):
    extra = {"execution_count": 3} if kind == "execute_result" else {}
    return new_output(kind, data=data, metadata=metadata or {}, **extra)


def sanitized(*cells):
    """The sanitized copy of a notebook made of the instructor's cells followed by ``cells``."""
    nb = instructor_notebook()
    nb.cells += cells
    return sanitize.notebook(nb, instructor_notebook())


def shown(nb):
    """Every part of the student's cells that HTML templates put into a page as markup: markdown and raw
    sources, and outputs other than text streams and errors (those are escaped)."""
    cells = nb.cells[len(instructor_notebook().cells):]
    parts = [c.source for c in cells if c.cell_type != "code"]
    for cell in cells:
        for output in cell.get("outputs", []):
            if output.output_type in ("display_data", "execute_result"):
                parts += [str(v) for v in output.data.values()] + [str(output.metadata)]
    return "\n".join(parts)


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, and the text of its scripts."""

    def __init__(self, page):
        super().__init__()
        self.tags, self.scripts = [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if self.lasttag == "script":
            self.scripts.append(data)


def unsafe(page, allowed_tags=()):
    """What in an HTML page could run code: handler or style attributes, script-capable tags, script URLs."""
    parsed = Elements(page)
    found = [(t, k) for t, a in parsed.tags for k in a if k.startswith("on") or k in ("style", "srcdoc", "xlink:href")]
    found += [t for t, _ in parsed.tags if t in UNSAFE_TAGS - set(allowed_tags)]
    found += [v for _, a in parsed.tags for k, v in a.items() if k in ("href", "src", "action", "formaction", "content")
              and v and "".join(v.split()).lower().startswith(("javascript:", "data:text", "data:image/svg", "0;"))]
    return found + [s for s in parsed.scripts if "alert(" in s]


@pytest.mark.parametrize("name", HTML_VECTORS)
def test_the_check_sees_each_vector_before_sanitizing(name):
    assert unsafe(HTML_VECTORS[name]), "unsafe() must recognize the vector it is meant to see removed"


def assert_inert(page):
    found = unsafe(page)
    assert not found, f"{found} survived in {page!r}"


@pytest.mark.parametrize("name", HTML_VECTORS)
@pytest.mark.parametrize("mime", ["text/html", "text/markdown"])
def test_html_outputs_come_out_inert(name, mime):
    nb = sanitized(new_code("show()", outputs=[display({mime: HTML_VECTORS[name], "text/plain": "<HTML>"})]))
    output, = nb.cells[-1].outputs
    assert set(output.data) <= {"text/html", "text/plain"} and output.data["text/plain"] == "<HTML>"
    assert_inert(shown(nb))


@pytest.mark.parametrize("name", MARKDOWN_VECTORS)
def test_student_markdown_comes_out_inert(name):
    nb = sanitized(student_cell(new_markdown(MARKDOWN_VECTORS[name])))
    assert_inert(shown(nb))


def test_markdown_answer_cells_are_sanitized():
    answer = new_markdown(f"My answer <img src=x onerror='{JS}'>", metadata={"nbgrader": {
        "solution": True, "grade": True, "grade_id": "explain", "points": 1}})
    nb = sanitized(answer)
    assert "My answer" in nb.cells[-1].source and "onerror" not in nb.cells[-1].source
    assert nb.cells[-1].metadata.nbgrader["grade_id"] == "explain", "grading metadata is the instructor's"


@pytest.mark.parametrize("mime", ["application/javascript", "image/svg+xml", "text/latex", "application/pdf",
                                  "application/json", "application/vnd.jupyter.widget-view+json",
                                  "text/vnd.mermaid", "application/x-grader-token"])
def test_other_types_are_dropped_with_a_line_that_says_so(mime):
    nb = sanitized(new_code("show()", outputs=[display({mime: f"<svg onload='{JS}'>"})]))
    output, = nb.cells[-1].outputs
    assert output.data == {"text/plain": REMOVED}
    assert mime not in nbformat.writes(nb)


def test_dropped_types_leave_the_safe_ones():
    nb = sanitized(new_code("plt.show()", outputs=[display({"image/svg+xml": "<svg/>", "image/png": PNG,
                                                             "text/plain": "<Figure size 640x480>"})]))
    assert nb.cells[-1].outputs[0].data == {"image/png": PNG, "text/plain": "<Figure size 640x480>"}


def test_text_and_a_real_png_survive_unchanged():
    outputs = [new_output("stream", name="stdout", text="<script>alert(1)</script> is printed\n"),
               new_output("error", ename="ValueError", evalue="<img src=x onerror=alert(1)>",
                          traceback=["\x1b[31mValueError\x1b[0m: <img src=x onerror=alert(1)>"]),
               display({"image/png": PNG, "text/plain": "<Figure>"}, {"image/png": {"width": 30, "height": 20}}),
               display({"text/plain": "tensor([1., 2.])"}, kind="execute_result"),
               display({"image/jpeg": "/9j/4AAQSkZJRg==\n"}, {"width": 7})]
    cell = new_code("run()", outputs=outputs, execution_count=3)
    nb = sanitized(cell)
    assert nb.cells[-1].outputs == outputs and nb.cells[-1].execution_count == 3


@pytest.mark.parametrize("value", ['iVBORw0KGgo=" onerror="alert(1)', "iVBORw0KGgo=\"", "not base64!",
                                   "iVBORw0KGgo= x", "data:text/html,<script>", ["iVBORw0KGgo="], 12])
def test_a_forged_base64_image_is_dropped(value):
    forged = nbformat.from_dict({"output_type": "display_data", "data": {"image/png": value, "image/jpeg": value},
                                 "metadata": {}})
    cell = new_code("show()")
    cell.outputs = [forged]  # past new_code_cell's validation, as a kernel's messages are
    nb = sanitized(cell)
    assert nb.cells[-1].outputs[0].data == {"text/plain": REMOVED}


@pytest.mark.parametrize("metadata", [
    {"image/png": {"width": "1 onload=alert(1)", "height": "2 onerror=alert(1)"}},
    {"width": "1 onload=alert(1)"}, {"image/png": {"width": 1.5, "height": True}},
    {"image/png": {"filenames": {"image/png": "javascript:alert(1)"}, "unconfined": "x onload=alert(1)"}},
    {"filenames": {"image/png": '"><script>alert(1)</script>'}, "needs_background": "x"}])
def test_image_metadata_keeps_only_integer_sizes(metadata):
    nb = sanitized(new_code("show()", outputs=[display({"image/png": PNG}, metadata)]))
    assert nb.cells[-1].outputs[0].metadata == {} and nb.cells[-1].outputs[0].data == {"image/png": PNG}


def test_kernel_controlled_fields_are_forced_to_their_types():
    cell = new_code("x")
    cell.outputs = [nbformat.from_dict(o) for o in [
        {"output_type": "execute_result", "data": {"text/plain": "1"}, "metadata": {},
         "execution_count": '"><script>alert(1)</script>'},
        {"output_type": "stream", "name": 'stdout"><script>alert(1)</script>', "text": ["a", "b"]},
        {"output_type": "<script>", "data": {}}]] + ["<script>alert(1)</script>"]
    cell.execution_count = "<script>alert(1)</script>"
    cell.id = '"><script>alert(1)</script>'
    nb = sanitized(cell)
    result, stream, unknown, not_an_output = nb.cells[-1].outputs
    assert nb.cells[-1].execution_count is None and result.execution_count is None
    assert stream.name == "stdout" and stream.text == "ab"
    assert unknown.data == not_an_output.data == {"text/plain": REMOVED}
    assert sanitize.CELL_ID.match(nb.cells[-1].id)


def test_instructor_markdown_is_untouched_and_anything_else_is_sanitized():
    notes = new_markdown("**Notes from the grader**\n\n- the notebook was renamed to <img src=x onerror=alert(1)>.ipynb"
                         "\n- a cell with the unknown grade id '<script>alert(1)</script>' was run as an ordinary cell")
    nb = instructor_notebook()
    nb.cells.insert(0, notes)
    sanitize.notebook(nb, instructor_notebook())
    assert nb.cells[1].source == INSTRUCTOR_MARKDOWN, "the instructor's figures and raw HTML must stay"
    assert "<strong>Notes from the grader</strong>" in nb.cells[0].source and "renamed to" in nb.cells[0].source
    assert_inert(nb.cells[0].source)


def test_student_cells_keep_no_metadata_and_only_image_attachments():
    cell = student_cell(new_markdown("![plot](attachment:plot.png) ![svg](attachment:evil.svg) ![x](attachment:x.png)"))
    cell.metadata.update(tags=['"><script>alert(1)</script>'], jupyter={"source_hidden": True})
    cell.attachments = {"plot.png": {"image/png": PNG}, "evil.svg": {"image/svg+xml": f"<svg onload='{JS}'/>"},
                        "x.png": {"image/png": 'A" onerror="alert(1)'}}
    raw = student_cell(nbformat.v4.new_raw_cell(f"<script>{JS}</script>", metadata={"format": "text/html"}))
    nb = sanitized(cell, raw)
    markdown, raw = nb.cells[-2:]
    assert markdown.metadata == {"student_added": True} and raw.metadata == {"student_added": True}
    assert markdown.attachments == {"plot.png": {"image/png": PNG}}
    assert f'src="data:image/png;base64,{PNG}"' in markdown.source, "a PNG attachment still shows"
    assert_inert(markdown.source)
    assert raw.source == f"&lt;script&gt;{JS}&lt;/script&gt;", "a raw cell shows its text, never runs it"


def test_markdown_output_becomes_sanitized_html():
    nb = sanitized(new_code("show()", outputs=[display({"text/markdown": "**bold** and $x^2$"})]))
    assert nb.cells[-1].outputs[0].data == {"text/html": "<p><strong>bold</strong> and $x^2$</p>\n"}


def test_an_output_with_nothing_safe_left_says_it_was_removed():
    nb = sanitized(new_code("show()", outputs=[display({"text/html": f"<script>{JS}</script><iframe></iframe>"})]))
    assert nb.cells[-1].outputs[0].data == {"text/plain": REMOVED}


def feedback_exporter():
    """The exporter `nbgrader generate_feedback` builds from the course's config: its template, images embedded."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    app = GenerateFeedback(coursedir=CourseDirectory(config=config), config=config)
    return app.exporter_class(parent=app, config=app.config)


@pytest.mark.parametrize("template", ["classic", "lab", "course feedback"])
def test_nbconverts_page_runs_nothing_of_the_students(template, tmp_path):
    """The page nbconvert's templates (nbgrader's feedback and Formgrader extend `classic`, the course's feedback
    extends nbgrader's) make of every vector at once: no handler attribute, no script of the student's, no
    javascript: or data: page URL. The feedback page embeds images: a student's, of a file beside the
    notebook, becomes a data: image."""
    outputs = [display({"text/html": v}) for v in HTML_VECTORS.values()] + [
        display({"text/markdown": v}) for v in MARKDOWN_VECTORS.values()] + [
        display({"application/javascript": JS}), display({"image/svg+xml": f"<svg onload='{JS}'/>"}),
        display({"image/png": PNG}, {"image/png": {"width": "1 onload=alert(1)"}}),
        display({"image/png": 'x" onerror="alert(1)'}),
        new_output("stream", name="stdout", text=f"<script>{JS}</script>")]
    cells = [new_code("show()", outputs=outputs)] + [student_cell(new_markdown(v)) for v in MARKDOWN_VECTORS.values()]
    cells.append(student_cell(new_markdown('<img src="assets/figure.png" onerror="alert(1)"> ![a](assets/figure.png)')))
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "figure.png").write_bytes(base64.b64decode(PNG))
    exporter = feedback_exporter() if template == "course feedback" else HTMLExporter(template_name=template)
    page, _ = exporter.from_notebook_node(sanitized(*cells), resources={
        "metadata": {"path": str(tmp_path), "name": "lesson"}, "questions": {},
        "nbgrader": {"notebook": "lesson", "score": 0, "max_score": 1, "late_penalty": 0}})
    # The template has scripts, styles, metas and links of its own (the tests above allow none of the student's).
    found = unsafe(page, allowed_tags={"script", "style", "meta", "link"})
    assert not found, found
    assert f"&lt;script&gt;{JS}&lt;/script&gt;" in page, "printed text is shown, escaped"
    assert f'src="data:image/png;base64,{PNG}"' in page
    if template == "course feedback":
        assert 'src="assets/' not in page and page.count(f'src="data:image/png;base64,{PNG}"') >= 3
