"""The course site's parts that need no browser: math typeset as MathML, alt texts, headlines, one rendered page."""

import nbformat

from tools import site


def test_math_outside_code_becomes_mathml_and_code_is_left_alone():
    text = site.typeset("Scale $S = \\frac{a}{b}$ and `cost = $5` and\n$$q = \\Big\\lfloor x \\Big\\rceil$$ end")
    assert text.count("<math") == 2 and 'display="block"' in text and "`cost = $5`" in text
    assert "\\frac" not in text and "\\lfloor" not in text and "&#x0230A;" in text  # the floor sign, as MathML


def test_markdown_syntax_inside_math_is_written_as_entities():
    markup = site.mathml("|x|_{*}", display=False)
    assert "|" not in markup and "*" not in markup and "&#124;" in markup or "&#x0007C;" in markup


def test_a_figure_takes_the_title_its_code_gives_it():
    source = 'fig, ax = new_axes("SQNR against bits", "bits", "dB")\nax2.set_title(f"seed {s}")'
    assert site.figure_alt(source, 0) == "SQNR against bits"
    assert "SQNR against bits" in site.figure_alt(source, 1)  # an f-string title is not shown; the first one is


def test_headline_collects_what_tagged_cells_printed():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print(1)", metadata={"tags": ["headline"]}, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="int8: 4.0x smaller\n\n4 bits: 1 < 2 points\n")]),
        nbformat.v4.new_code_cell("print(2)", outputs=[nbformat.v4.new_output("stream", name="stdout", text="no\n")])])
    assert site.headline(nb) == "int8: 4.0x smaller\n4 bits: 1 < 2 points"
    index = site.index_page(["01_quantization_basics"], {"lectures": {"01_quantization_basics"}}, {},
                            {"01_quantization_basics": site.headline(nb)}, {}, student=False)
    assert '<td><p class="result">int8: 4.0x smaller</p><p class="result">4 bits: 1 &lt; 2 points</p></td>' in index


def test_a_page_has_navigation_contents_alt_texts_and_no_other_host():
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Pruning: a test\n\n## The math\n\n$w = 0$ when $|w| < t$."),
        nbformat.v4.new_code_cell('fig, ax = new_axes("Accuracy against sparsity", "s", "%")', outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})])])
    pages = {"lectures": {"04_pruning"}, "labs": {"04_pruning"}, "solutions": set()}
    page = site.render(nb, site.Page("lectures", "04_pruning"), pages, {"lectures/04_pruning": 12.3}, ["04_pruning"])
    assert 'href="../index.html"' in page and 'href="../labs/04_pruning.html"' in page and "ran in 12 s" in page
    assert 'href="#The-math"' in page and page.count("<math") == 2
    assert page.index('id="Pruning:-a-test"') < page.index("<summary>Contents") < page.index('<h2 id="The-math"')
    assert 'alt="Accuracy against sparsity"' in page and "No description" not in page
    assert "mathjax" not in page.lower() and "https://cdn" not in page
