"""The feedback page a student gets: every question named by its exercise, every figure inside the page.

nbgrader's feedback template calls each question "Test cell", and `release_feedback` sends the page alone,
so figures linked by relative path (assets/x.png) break once a student fetches it. nbgrader_config.py has
GenerateFeedback export with ``FeedbackExporter`` (the course's template, images embedded) and run
``NameQuestions``, which reads the names from the lesson's source: nothing a student wrote can rename one.
"""
import copy
import re
from pathlib import Path

import mistune
import nbformat
import nbgrader
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import Preprocessor
from nbgrader.coursedir import CourseDirectory
from traitlets import Bool

from grader.cells import grade_id, is_answer, is_graded

# The course's template dir first; nbgrader's holds the `feedback` template that the course's extends.
TEMPLATE_DIRS = [str(Path(__file__).parent / "templates"),
                 str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates")]
POINTS = re.compile(r"\s*\([^()]*\bpoints?\b[^()]*\)$")  # "(2 points)": the page shows the score beside the name
DEFINITION = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)
FIGURE = "A figure this cell drew"  # the alt text of an output image that has none


class FeedbackExporter(HTMLExporter):
    """HTMLExporter for feedback pages alone: a class of its own, so nbgrader_config.py sets its template
    and embedded images without changing the Formgrader's exporter (an HTMLExporter too).

    It renders as HTMLExporter does, less HTMLExporter's last step: a BeautifulSoup pass over the whole
    page that gives each image without alt text a placeholder and puts tab stops on JupyterLab's cell
    classes, which this classic-based template does not use. Parsed in pure Python, every highlighted
    token a tag, that pass took 1.0 s of a page's 1.8 s. Output figures get their alt text here instead.
    """

    def from_notebook_node(self, nb, resources=None, **kw):
        nb = copy.deepcopy(nb)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                for mime in ("image/png", "image/jpeg"):
                    if mime in output.get("data", {}):
                        output.setdefault("metadata", {}).setdefault(mime, {}).setdefault("alt", FIGURE)
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name"))
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


def question_names(nb):
    """grade id -> name, for each graded cell of a lesson's source notebook.

    A question is named by the last heading above it, less its points (the page shows the score beside
    it); questions under one heading are its parts ("part 2"). With no heading above: the names the
    answer cell above defines (``percent_correct``), else the grade id.
    """
    sections, defined = [(None, [])], []  # (heading, [(grade id, names the answer above defines)])
    for cell in nb.cells:
        headings = _headings(cell.source) if cell.cell_type == "markdown" and not is_answer(cell) else []
        if headings:
            sections.append((POINTS.sub("", headings[-1]), []))
            defined = []
        elif is_answer(cell):
            defined = DEFINITION.findall(cell.source)
        if is_graded(cell):
            sections[-1][1].append((grade_id(cell), defined))
    names = {}
    for heading, members in sections:
        for part, (key, defined) in enumerate(members, 1):
            name = heading or ", ".join(defined) or key
            names[key] = f"{name} (part {part})" if heading and len(members) > 1 else name
    return names


def _headings(markdown):
    """The text of a markdown cell's headings (code fences and all markup read as markdown, not as lines)."""
    return [_text(token["children"]) for token in mistune.create_markdown(renderer="ast")(markdown)
            if token["type"] == "heading"]


def _text(tokens):
    return "".join(t["raw"] if "raw" in t else _text(t.get("children", [])) for t in tokens).strip()


class NameQuestions(Preprocessor):
    """Puts ``question_names`` of the lesson's source into the page's resources, for the template.

    An nbconvert preprocessor (nbgrader's base class warns about a setting the HTML exporter gives every
    preprocessor), on whenever GenerateFeedback lists it."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        coursedir = CourseDirectory(parent=self)
        about = resources["nbgrader"]
        source = Path(coursedir.format_path(coursedir.source_directory, ".", about["assignment"]))
        resources["questions"] = question_names(nbformat.read(str(source / f"{about['notebook']}.ipynb"),
                                                              as_version=4))
        return nb, resources
