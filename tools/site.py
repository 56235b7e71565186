"""The course as a website: executed lectures (and, for instructors, solutions) and the labs, with math typeset at
build time, navigation, a table of contents on every page and an index of measured headline results.

Math is converted from LaTeX to MathML here (``latex2mathml``, pinned in requirements.txt), and browsers render
MathML themselves: no script, no font or stylesheet is fetched by the build or by the reader's browser. The pages
come from nbconvert's ``lab`` template, stripped of every reference to another host.

``python -m tools.site OUT [--student]`` renders the executed notebooks in build/executed (``make course`` writes
them) into OUT; ``--student`` leaves out the solutions, as ``make release`` does.
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from bs4 import BeautifulSoup, Comment
from latex2mathml.converter import convert
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from tools.notebooks import BUILD, ROOT, to_notebook

TITLE = "Neural Network Compression from Scratch"
EXECUTED = BUILD / "executed"
KINDS = {"lectures": "lecture", "labs": "lab", "solutions": "solution"}
# $$...$$ (display) or $...$ (inline, no space just inside the dollars, not an escaped \$)
MATH = re.compile(r"\$\$(?P<display>.+?)\$\$|(?<![\\$])\$(?![\s$])(?P<inline>(?:\\\$|[^$])+?)(?<![\s\\])\$", re.S)
CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
FIGURE_TITLE = re.compile(r"""(?:new_axes|set_title|suptitle|plt\.title)\(\s*(f?)(["'])(.+?)\2""")
STYLE = """
body { margin: 0; }
.course-nav { position: sticky; top: 0; z-index: 10; background: #fafafa; border-bottom: 1px solid #ddd;
  padding: .5rem 1rem; font: 14px/1.5 system-ui, sans-serif; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; }
.course-nav a { color: #0b57d0; text-decoration: none; } .course-nav .here { font-weight: 600; }
.course-toc { font: 14px/1.5 system-ui, sans-serif; margin: 1rem auto; max-width: 60rem; padding: 0 1rem; }
.course-toc ul { margin: .2rem 0; } .course-toc li.h3 { margin-left: 1.5rem; }
math[display="block"] { margin: .6em 0; font-size: 1.1em; }
"""


@dataclass(frozen=True)
class Page:
    kind: str  # lectures, labs or solutions
    slug: str

    @property
    def href(self) -> str:
        return f"{self.kind}/{self.slug}.html"


# LaTeX that latex2mathml does not know, and what means the same to it
REWRITES = [(re.compile(r"\\[Bb]igg?[lr]?(?![a-zA-Z])"), ""),
            (re.compile(r"\\(arg(?:min|max)?)(?![a-zA-Z])"), r"\\operatorname{\1}")]


def mathml(latex: str, display: bool) -> str:
    """MathML for ``latex``, with characters Markdown would read as syntax written as entities."""
    for pattern, replacement in REWRITES:
        latex = pattern.sub(replacement, latex)
    markup = convert(latex.strip(), display="block" if display else "inline")
    return markup.replace("|", "&#124;").replace("*", "&#42;").replace("_", "&#95;").replace("\\", "&#92;")


def typeset(markdown: str) -> str:
    """``markdown`` with every $...$ and $$...$$ outside code turned into MathML."""
    parts = CODE.split(markdown)
    for i in range(0, len(parts), 2):  # even parts are outside code
        parts[i] = MATH.sub(lambda m: mathml(m["display"] if m["display"] is not None else m["inline"],
                                             m["display"] is not None), parts[i])
    return "".join(parts)


def figure_alt(source: str, index: int) -> str:
    """The alt text of the ``index``-th figure a cell draws: the title the code gives it, else a plain description."""
    titles = [m[3] for m in FIGURE_TITLE.finditer(source) if not m[1] or "{" not in m[3]]
    if index < len(titles):
        return titles[index]
    return "A figure drawn by the code above: " + (titles[0] if titles else "its plot") + "."


def with_alt_texts(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Each PNG output as an <img> whose alt text is its plot's title."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        images = 0
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                alt = html.escape(figure_alt(cell.source, images), quote=True)
                data["text/html"] = f'<img src="data:image/png;base64,{data.pop("image/png").strip()}" alt="{alt}">'
                data.pop("text/plain", None)
                images += 1
    return nb


def _prepare(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = typeset(cell.source)
    return with_alt_texts(nb)


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def headline(nb: nbformat.NotebookNode) -> str:
    """What the lecture's cells tagged ``headline`` printed: its measured results, one per line."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code" and "headline" in cell.metadata.get("tags", []):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream":
                    lines += [line for line in output.get("text", "").splitlines() if line.strip()]
    return "\n".join(lines)


def _neighbour(slug: str, kind: str, pages: dict[str, set[str]]) -> Page:
    """The page of module ``slug`` of the same kind as the reader's, or its lecture when there is none."""
    return Page(kind if slug in pages[kind] else "lectures", slug)


def _nav(page: Page, pages: dict[str, set[str]], seconds: dict[str, float], order: list[str]) -> str:
    i = order.index(page.slug)
    links = [f'<a href="../index.html"><b>{TITLE}</b></a>']
    if i > 0:
        links.append(f'<a href="../{_neighbour(order[i - 1], page.kind, pages).href}">&larr; {order[i - 1][:2]}</a>')
    if i + 1 < len(order):
        links.append(f'<a href="../{_neighbour(order[i + 1], page.kind, pages).href}">{order[i + 1][:2]} &rarr;</a>')
    for kind, word in KINDS.items():
        if page.slug in pages.get(kind, ()):
            here = ' class="here"' if kind == page.kind else ""
            links.append(f'<a{here} href="../{Page(kind, page.slug).href}">{word}</a>')
    if page.kind == "labs":
        links += [f'<a href="{page.slug}{suffix}" download>{page.slug}{suffix}</a>' for suffix in (".py", ".ipynb")]
    key = f"{page.kind}/{page.slug}"
    if key in seconds:
        links.append(f"<span>ran in {seconds[key]:.0f} s when this site was built</span>")
    return '<nav class="course-nav">' + " ".join(links) + "</nav>"


def render(nb: nbformat.NotebookNode, page: Page, pages: dict[str, set[str]], seconds: dict[str, float],
           order: list[str]) -> str:
    """One page: the notebook in nbconvert's lab template, with no reference to another host, plus navigation and a
    table of contents."""
    exporter = HTMLExporter(template_name="lab")
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"hide-input"}), enabled=True)
    body, _ = exporter.from_notebook_node(_prepare(nb))
    soup = BeautifulSoup(body, "html.parser")
    for tag in soup.find_all(["script", "link"]):  # MathJax, and mermaid's module from a CDN
        source = tag.get("src") or tag.get("href") or ""
        if re.match(r"https?:", source) or re.search(r"mathjax|https?://", tag.text, re.I) or "mathjax" in str(
                tag.get("type", "")).lower():
            tag.decompose()
    for comment in soup.find_all(string=lambda text: isinstance(text, Comment) and "mathjax" in text.lower()):
        comment.extract()
    soup.title.string = f"{title_of(nb, page.slug)} · {TITLE}"
    style = soup.new_tag("style")
    style.string = STYLE
    soup.head.append(style)
    headings = [h for h in soup.select("h1, h2, h3") if h.get("id")]
    toc = "".join(f'<li class="{h.name}"><a href="#{h["id"]}">{html.escape(h.get_text(" ", strip=True).rstrip("¶"))}'
                  "</a></li>" for h in headings if h.name != "h1")
    soup.body.insert(0, BeautifulSoup(_nav(page, pages, seconds, order), "html.parser"))
    if toc:  # under the page's title when it has one, as a book's contents follow its title
        contents = BeautifulSoup(f'<details class="course-toc" open><summary>Contents</summary><ul>{toc}</ul>'
                                 "</details>", "html.parser")
        title = soup.find("h1")
        if title is not None:
            title.insert_after(contents)
        else:
            soup.body.insert(1, contents)
    return str(soup)


def index_page(order: list[str], pages: dict[str, set[str]], titles: dict[str, str], headlines: dict[str, str],
               seconds: dict[str, float], student: bool) -> str:
    rows = []
    for slug in order:
        links = " · ".join(f'<a href="{Page(kind, slug).href}">{word}</a>' for kind, word in KINDS.items()
                           if slug in pages.get(kind, ()))
        time = f"{seconds[f'lectures/{slug}']:.0f} s" if f"lectures/{slug}" in seconds else ""
        results = "".join(f'<p class="result">{html.escape(line)}</p>' for line in headlines.get(slug, "").splitlines())
        rows.append(f"<tr><td>{slug[:2]}</td><td>{html.escape(titles.get(slug, slug))}</td><td>{links}</td>"
                    f"<td>{results}</td><td>{time}</td></tr>")
    setup = ("make lab      # JupyterLab on the labs\nmake check LAB=01   # your lab against its visible checks\n"
             "make course   # run every lecture and build this site") if student else (
        "make test     # build .venv, lint, unit tests, every notebook, the grader's validation\n"
        "make course   # run every lecture and solution and build this site\n"
        "make release  # the student copy of the course, with its own site")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;line-height:1.5;padding:0 1rem}}
td,th{{padding:.3rem .8rem;text-align:left;border-bottom:1px solid #ddd;vertical-align:top}}
pre{{background:#f6f6f6;padding:.8rem}} .result{{margin:0 0 .5rem}}</style></head>
<body><h1>{TITLE}</h1>
<p>Each technique is built from scratch in NumPy, then in PyTorch, checked against the library that does it for real,
and measured on a small model. Every lecture below was executed top to bottom when this site was built; the
results column is what its cells measured in that run, and the last column its run time.</p>
<table><tr><th>#</th><th>Module</th><th>Pages</th><th>Measured in this build</th><th>Run time</th></tr>
{chr(10).join(rows)}
</table>
<h2>Set-up</h2>
<pre>{setup}</pre>
</body></html>
"""


def build_site(out: Path, student: bool = False) -> Path:
    """Render every executed lecture (and solution unless ``student``) and every lab into ``out``."""
    times = json.loads((EXECUTED / "seconds.json").read_text()) if (EXECUTED / "seconds.json").exists() else {}
    kinds = ["lectures", "labs"] + ([] if student else ["solutions"])
    pages: dict[str, set[str]] = {kind: set() for kind in kinds}
    notebooks: dict[Page, nbformat.NotebookNode] = {}
    for kind in kinds:
        for source in sorted((ROOT / kind).glob("[0-9][0-9]_*.py")):
            executed = EXECUTED / kind / f"{source.stem}.ipynb"
            if kind == "labs":
                nb = to_notebook(source)  # a lab is for filling in: shown as the student gets it
            elif executed.exists():
                nb = nbformat.read(executed, as_version=4)
            else:
                raise FileNotFoundError(f"{executed} is missing: run `make course` (it executes the notebooks)")
            notebooks[Page(kind, source.stem)] = nb
            pages[kind].add(source.stem)
    order = sorted(pages["lectures"] | pages["labs"])
    if out.exists():
        shutil.rmtree(out)
    for page, nb in notebooks.items():
        target = out / page.href
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(nb, page, pages, times, order))
        if page.kind == "labs":
            source = ROOT / "labs" / f"{page.slug}.py"
            shutil.copyfile(source, target.with_suffix(".py"))
            nbformat.write(jupytext.read(source), target.with_suffix(".ipynb"))
    titles = {p.slug: title_of(nb, p.slug) for p, nb in notebooks.items() if p.kind == "lectures"}
    headlines = {p.slug: headline(nb) for p, nb in notebooks.items() if p.kind == "lectures"}
    index = out / "index.html"
    index.write_text(index_page(order, pages, titles, headlines, times, student))
    (out / "site.json").write_text(json.dumps({"student": student, "pages": sorted(p.href for p in notebooks)}))
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--student", action="store_true", help="leave out the solutions")
    args = parser.parse_args(argv)
    print(f"wrote {build_site(args.out, args.student)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
