"""The documentation: a README a newcomer reads first, a site that builds with warnings as
errors, links that resolve. The generated tables' own tests are beside what they document
(test_lecture_numbers.py, test_config.py)."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from autograder.docs import (
    CHANGELOG,
    HOMES,
    README,
    ROOT,
    anchors,
    broken_links,
    documented,
    external_links,
    sections,
    slug,
)

MKDOCS = Path(sys.executable).with_name("mkdocs")
# mkdocs-material prints a banner about MkDocs 2 on every build; it says nothing about the site.
QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def mkdocs_build(project: Path, site: Path) -> subprocess.CompletedProcess:
    if not MKDOCS.exists():
        pytest.fail(f"{MKDOCS} is missing: the docs extra is not installed (run `make`, which installs it)")
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(site)],
        cwd=project,
        env=QUIET,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_readme_is_a_newcomers_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250, f"README.md has {len(text.splitlines())} lines; at most 250"
    # the two Quickstart commands, exactly these
    assert re.findall(r"^make \w+", text, re.M) == ["make demo", "make test"]
    for role in ("Instructors", "TAs", "Students"):
        assert f"### {role}" in text, f"README.md has no first steps for {role}"


def test_readme_and_changelog_links_resolve():
    assert broken_links(README) + broken_links(CHANGELOG) == []


def test_the_link_check_finds_a_missing_file_and_a_missing_anchor(tmp_path):
    (tmp_path / "other.md").write_text("---\n# front matter\n---\n# A page\n\n## Its section: with `words`\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n[ok](other.md#its-section-with-words) [here](#title) [gone](missing.md)\n"
        "[no anchor](other.md#nothing) [web](https://example.org/x)\n\n"
        "```\n# not a heading [not a link](nowhere.md)\n```\n"
    )
    problems = broken_links(page)
    assert len(problems) == 2, problems
    assert "missing.md: there is no" in problems[0]
    assert "no heading of" in problems[1] and "makes #nothing" in problems[1]
    assert anchors(page) == {"title"}
    assert anchors(tmp_path / "other.md") == {"a-page", "its-section-with-words"}
    assert list(external_links([page])) == ["https://example.org/x"]


def test_slugs_are_mkdocs_own():
    markdown_toc = pytest.importorskip("markdown.extensions.toc")
    for heading in [
        "For TAs: grading",
        "Security: what a submission folder may hold",
        "Run the course in Korean",
        "Where a submission's time goes (backprop-kit autograde)",
    ]:
        assert slug(heading) == markdown_toc.slugify(heading, "-")


def test_the_docs_site_builds_with_warnings_as_errors(tmp_path):
    started = time.perf_counter()
    built = mkdocs_build(ROOT, tmp_path / "site")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "speed" / "index.html").exists()
    changelog = (tmp_path / "site" / "changelog" / "index.html").read_text(encoding="utf-8")
    assert "Issue 21, second round" in changelog, "docs/changelog.md no longer includes CHANGELOG.md"
    # a <placeholder> in a generated table's prose is shown, not swallowed as an HTML tag
    configuration = (tmp_path / "site" / "configuration" / "index.html").read_text(encoding="utf-8")
    assert "assignments/&lt;name&gt;.py" in configuration
    print(f"mkdocs build --strict: {time.perf_counter() - started:.1f} s")


def test_a_broken_anchor_fails_the_build(tmp_path):
    """The strict build is what checks the site's links: with mkdocs.yml's own validation
    settings, a link to a heading that is not there stops it, naming the page and the anchor.
    (A two-page site on mkdocs' plain theme: the same check, a fraction of the site's build.)"""
    settings = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "docs" / "index.md").write_text("# Home\n\nSee [speed](speed.md#no-such-heading).\n")
    (project / "docs" / "speed.md").write_text("# Speed\n\n## The figures now\n")
    mini = {"site_name": "t", "strict": settings["strict"], "validation": settings["validation"]}
    (project / "mkdocs.yml").write_text(yaml.safe_dump(mini))
    built = mkdocs_build(project, tmp_path / "site")
    assert built.returncode != 0
    assert "index.md" in built.stderr and "no-such-heading" in built.stderr, built.stderr

    (project / "docs" / "index.md").write_text("# Home\n\nSee [speed](speed.md#the-figures-now).\n")
    assert mkdocs_build(project, tmp_path / "site").returncode == 0


def test_make_docs_builds_strict_and_keeps_the_warnings():
    """mkdocs' --quiet drops warnings before --strict counts them: with it, a broken link passes."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^docs:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "the Makefile has no docs target"
    build = next(line for line in recipe.group(1).splitlines() if "mkdocs build" in line)
    assert "--strict" in build and not re.search(r"\s(-q|--quiet)\b", build), build
    assert re.search(r"^test:.*\bdocs\b", makefile, re.M), "make test does not build the docs"


@pytest.mark.parametrize("name", sorted(HOMES))
def test_a_generated_section_of_the_docs_is_current(name):
    """Each generated table (the operation table's operations and gates, the exercises, the
    catalog of mistakes, the course.yaml keys) is in its page exactly as `python -m autograder.docs`
    writes it today, between its markers."""
    page = HOMES[name].relative_to(ROOT)
    assert documented(name) is not None, f"{page} lost its <!-- {name}:start/end --> markers"
    assert documented(name) == sections()[name].strip(), (
        f"{page}'s {name} table is out of date: run `python -m autograder.docs`"
    )
