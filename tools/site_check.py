"""Load every page of a built site in headless Chromium and check what a reader would see.

For each page: no console error, no request leaving the machine, every image decoded (natural width > 0), every
internal link resolving (to a file, and to an element when it names one), no raw ``$``, ``\\(`` or ``\\[`` left in the
text outside code, and math elements present where the page's source has math. Screenshots of the index and of the
first lecture go to build/site-screens/ for review. ``python -m tools.site_check SITE [SITE ...]``; exits 0 with a
note when Chromium is not installed, saying why the check was skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import jupytext

from tools.notebooks import BUILD, ROOT

SCREENS = BUILD / "site-screens"
LOCAL_SCHEMES = ("file", "data", "about", "blob")
PROSE_TEXT = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, math, .jp-InputArea, .jp-OutputArea').forEach(e => e.remove());
  return body.textContent;
}"""
RAW_MATH = re.compile(r"\$[^\s$]|\\\(|\\\[")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def source_has_math(page: Path, site: Path) -> bool:
    """Whether the notebook behind ``page`` has $ math in its markdown."""
    relative = page.relative_to(site)
    if len(relative.parts) != 2:
        return False
    source = ROOT / relative.parts[0] / f"{page.stem}.py"
    if not source.exists():
        return False
    cells = jupytext.read(source).cells
    return any(c.cell_type == "markdown" and re.search(r"\$[^\s$]", c.source) for c in cells)


def check_page(context, page_path: Path, site: Path) -> list[str]:
    """What is wrong with one page, in words (empty when nothing is)."""
    problems, console, outside = [], [], []
    page = context.new_page()
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: console.append(str(err)))

    def route(route_, request):
        if urlparse(request.url).scheme in LOCAL_SCHEMES:
            return route_.continue_()
        outside.append(request.url)
        return route_.abort()

    page.route("**/*", route)
    page.goto(page_path.resolve().as_uri(), wait_until="load")
    where = page_path.relative_to(site)
    problems += [f"{where}: console error {text[:200]}" for text in console]
    problems += [f"{where}: request leaving the machine: {url[:200]}" for url in outside]
    broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
                           ".map(i => i.src.slice(0, 80))")
    problems += [f"{where}: image not decoded: {src}" for src in broken]
    for href in page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)"):
        url = urlparse(href)
        if url.scheme != "file":
            continue
        target = Path(unquote(url.path))
        if not target.exists():
            shown = target.relative_to(site) if target.is_relative_to(site) else target
            problems.append(f"{where}: link to a missing file {shown}")
        elif url.fragment and target.suffix == ".html":
            text = target.read_text()  # browsers try the fragment as written, then percent-decoded (HTML spec)
            if not any(f'id="{fragment}"' in text for fragment in (url.fragment, unquote(url.fragment))):
                problems.append(f"{where}: link to a missing anchor #{url.fragment} in {target.name}")
    text = page.evaluate(PROSE_TEXT)
    for match in list(RAW_MATH.finditer(text))[:3]:
        problems.append(f"{where}: raw math in the text: ...{text[max(0, match.start() - 30):match.end() + 30]!r}...")
    unknown = page.evaluate("[...document.querySelectorAll('math')].map(m => m.textContent)"
                            ".filter(t => /\\\\[a-zA-Z]/.test(t)).slice(0, 3)")
    problems += [f"{where}: a LaTeX command the math renderer did not know: {t[:80]!r}" for t in unknown]
    if source_has_math(page_path, site) and page.evaluate("document.querySelectorAll('math').length") == 0:
        problems.append(f"{where}: the source has math but the page shows no math element")
    if page_path.name == "index.html" and page_path.parent == site or page_path == first_lecture(site):
        SCREENS.mkdir(parents=True, exist_ok=True)
        name = "index" if page_path.name == "index.html" else page_path.stem
        page.screenshot(path=str(SCREENS / f"{site.name}-{name}.png"))
    page.close()
    return problems


def first_lecture(site: Path) -> Path | None:
    lectures = sorted((site / "lectures").glob("*.html"))
    return lectures[0] if lectures else None


def check_sites(sites: list[Path]) -> list[str]:
    from playwright.sync_api import sync_playwright

    problems = []
    with sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's own sandbox refuses to run as root
        browser = p.chromium.launch(executable_path=chromium(), args=args)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        for site in sites:
            pages = sorted(site.rglob("*.html"))
            if not pages:
                problems.append(f"{site}: no pages")
            if json.loads((site / "site.json").read_text())["student"]:
                leaked = [str(p.relative_to(site)) for p in site.rglob("*") if "solution" in p.name or
                          "solutions" in p.parts or "/solutions/" in (p.read_text() if p.suffix == ".html" else "")]
                problems += [f"{site}: a student site holds or links to a solution: {p}" for p in leaked]
            for page_path in pages:
                problems += check_page(context, page_path, site)
            print(f"checked {len(pages)} pages of {site}")
        browser.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sites", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if chromium() is None:
        print("site check skipped: Chromium is not installed (as root: apt-get install chromium)")
        return 0
    problems = check_sites(args.sites)
    for problem in problems:
        print(f"  {problem}")
    print(f"site check: {'no problems' if not problems else f'{len(problems)} problem(s)'}; screenshots in "
          f"{SCREENS.relative_to(ROOT)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
