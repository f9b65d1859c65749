"""A course with `language: ko`, seen in headless Chromium: the Korean release in JupyterLab with
its Korean language pack selected (JupyterLab's own menus in Korean), run and validated
unfinished; a Korean feedback page; a Korean class.html.

Hangul must be drawn, not boxes: Chromium draws a character no font has as the font's .notdef
glyph, the same box for every such character. `hangul_is_drawn` draws Hangul syllables in the
font each page uses for them and in the same font two unassigned code points (which no font
has, so they are the box): the syllables must all differ from one another and from the box.
Without a font with Hangul (Debian's fonts-noto-cjk, `make system-packages`) the test fails
there. Screenshots go to the folder printed at the start (the last run's are kept)."""

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from browser import chrome, require_chromium, screenshot_folder
from lanes import lane
from test_browser_student import (
    open_notebook,
    outputs_text,
    run_all,
    scroll_to_text,
    served,
    validate,
    wait_for,
)

from autograder import demo
from autograder.course import REPO_ROOT, nbgrader_environment

pytestmark = pytest.mark.browser

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

HANGUL = re.compile("[\uac00-\ud7a3]")
KOREAN_LOCALE = "ko_KR"  # the language pack jupyterlab-language-pack-ko-KR (the test extras install it)

# Draw each character in `font` on a canvas: identical pictures are the same glyph.
GLYPHS_JS = """
const font = arguments[0], chars = arguments[1];
const canvas = document.createElement('canvas');
canvas.width = 96; canvas.height = 96;
const context = canvas.getContext('2d');
return chars.map(ch => {
  context.clearRect(0, 0, 96, 96);
  context.font = font; context.fillStyle = '#000'; context.textBaseline = 'top';
  context.fillText(ch, 8, 8);
  return canvas.toDataURL();
});"""
SYLLABLES = ["역", "전", "파", "그", "래", "프"]
NO_GLYPH = ["\u0378", "\u0379"]  # unassigned in Unicode: no font draws them, every browser shows its box


def require_hangul_font():
    """fontconfig knows a font for Korean (fonts-noto-cjk); skip without one, fail under CI=true."""
    import os

    found = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True)
    if found.returncode != 0 or not found.stdout.strip():
        message = (
            "no font with Hangul (Debian package fonts-noto-cjk; `make system-packages` installs it as root)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI=true: browser tests refuse to skip: {message}")
        pytest.skip(message)


def hangul_is_drawn(driver, element):
    """Whether `element`'s font (its computed size and family, the page's own fallbacks) draws
    Hangul syllables as glyphs: each one different, none the box an unassigned character gets."""
    style = driver.execute_script(
        "const s = getComputedStyle(arguments[0]); return s.fontSize + ' ' + s.fontFamily;", element
    )
    pictures = driver.execute_script(GLYPHS_JS, style, SYLLABLES + NO_GLYPH)
    syllables, boxes = pictures[: len(SYLLABLES)], pictures[len(SYLLABLES) :]
    assert boxes[0] == boxes[1], "two unassigned characters should both be the font's box"
    return len(set(syllables)) == len(SYLLABLES) and boxes[0] not in syllables, style


def korean_text_of(driver, css):
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.CSS_SELECTOR, css)
    return element, element.text


@dataclass(frozen=True)
class KoreanCourse:
    root: Path
    report_dir: Path

    def feedback(self, student):
        return self.root / "feedback" / student / "backprop" / "backprop.html"


@pytest.fixture(scope="module")
@lane("e2e")
def korean_course(tmp_path_factory) -> KoreanCourse:
    """The kit's course with `language: ko`: released, three students submitted (ben: the
    add-split and mul-not-swapped gates; carol: correct; pat: the release untouched) and fay's
    notebook cut off mid-upload, graded by nbgrader, feedback generated, the class report made."""
    # Its own grading, not the shared class's (shared_class.py): another course setting, the language.
    require_chromium()
    require_hangul_font()
    base = tmp_path_factory.mktemp("korean-course")
    text = re.sub(r"(?m)^language:.*$", "language: ko", (REPO_ROOT / "course.yaml").read_text())
    assert "language: ko" in text
    (base / "course.yaml").write_text(text)
    course_dir = base / "course"
    env = nbgrader_environment()
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder.cli",
            "init",
            str(course_dir),
            "--config",
            str(base / "course.yaml"),
        ],
        cwd=base,
        capture_output=True,
        text=True,
        env=env,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    source = nbformat.read(course_dir / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(course_dir / "release" / "backprop" / "backprop.ipynb", as_version=4)
    correct = simulated_class.reference_answers(source)
    submissions = {
        "ben": simulated_class.fill(
            release,
            {
                **correct,
                "add_gate": simulated_class.MISTAKES["add-split"][1],
                "mul_gate": simulated_class.MISTAKES["mul-not-swapped"][1],
            },
        ),
        "carol": simulated_class.fill(release, correct),
        "pat": release,
    }
    for student, nb in submissions.items():
        folder = course_dir / "submitted" / student / "backprop"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "backprop.ipynb")
    fay = course_dir / "submitted" / "fay" / "backprop"
    fay.mkdir(parents=True)
    (fay / "backprop.ipynb").write_text(nbformat.writes(release)[:4000])
    for step in ("autograde", "generate_feedback"):
        done = demo.nbgrader(course_dir, step, "backprop")
        assert done.returncode == 0, done.stderr[-3000:]
    reported = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "report", "backprop"],
        cwd=course_dir,
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
    )
    assert reported.returncode == 0, reported.stdout + reported.stderr
    assert HANGUL.search(reported.stdout), reported.stdout  # the terminal summary too
    return KoreanCourse(course_dir, course_dir / "backprop-kit" / "class-report" / "backprop")


@dataclass(frozen=True)
class Browser:
    driver: object
    folder: Path


@pytest.fixture(scope="module")
def browser(korean_course) -> Browser:
    driver = chrome(1200, 950)
    try:
        yield Browser(driver, screenshot_folder("korean"))
    finally:
        driver.quit()


def test_the_feedback_page_is_korean_and_its_hangul_is_drawn(korean_course, browser):
    driver, folder = browser.driver, browser.folder
    driver.get(korean_course.feedback("ben").as_uri())
    heading, text = korean_text_of(driver, ".panel-heading h4")
    assert text.startswith("backprop: ") and text.endswith("점"), text
    drawn, font = hangul_is_drawn(driver, heading)
    assert drawn, f"Hangul is drawn as boxes in {font!r}"
    anchor = driver.find_element("css selector", 'a[name="test_add_gate_backward"]')
    add = anchor.find_element("xpath", "following-sibling::div[contains(@class, 'bpkit-exercise')]")
    words = add.text
    assert "0.0 / 2.0점" in words and "실패:" in words and "힌트:" in words, words
    assert words.count("add-split") == 1 and "실수로 보" not in words, words  # named once, after its words
    assert "points" not in words and "Failed:" not in words and "Hint:" not in words, words
    add.screenshot(str(folder / "feedback-ben-addgate-backward.png"))
    body = driver.find_element("css selector", "body").text
    assert (
        "학생의 답" in body and "Student's answer" not in body and "(Top)" not in body
    )  # nbgrader's panels too
    driver.save_screenshot(str(folder / "feedback-ben-top.png"))


def test_the_grader_notes_on_an_unreadable_notebook_are_korean(korean_course, browser):
    driver, folder = browser.driver, browser.folder
    driver.get(korean_course.feedback("fay").as_uri())
    body = driver.find_element("css selector", "body").text
    assert "채점기(backprop-kit)의 안내" in body and "노트북을 읽을 수 없습니다" in body, body[:2000]
    assert "Your notebook could not be read" not in body
    driver.save_screenshot(str(folder / "feedback-fay-unreadable.png"))


def test_class_html_is_korean_and_its_hangul_is_drawn(korean_course, browser):
    driver, folder = browser.driver, browser.folder
    driver.get((korean_course.report_dir / "class.html").as_uri())
    assert driver.execute_script("return document.documentElement.lang") == "ko"
    heading, text = korean_text_of(driver, "header h1")
    assert text == "backprop: 반 학생들이 틀린 것", text
    drawn, font = hangul_is_drawn(driver, heading)
    assert drawn, f"Hangul is drawn as boxes in {font!r}"
    body = driver.find_element("css selector", "body").text
    for words in ("문제별 통과율", "부정행위 신호", "학생 × 문제", "채점하지 않음", "통과", "답하지 않음"):
        assert words in body, words
    for english in ("Pass rate per exercise", "Integrity signals", "students graded"):
        assert english not in body, english
    driver.save_screenshot(str(folder / "class-top.png"))
    driver.execute_script("document.getElementById('misconceptions').scrollIntoView()")
    driver.save_screenshot(str(folder / "class-misconceptions.png"))


@pytest.fixture(scope="module")
def korean_lab(korean_course, tmp_path_factory):
    """JupyterLab serving the Korean release (untouched) with JupyterLab's Korean language pack
    selected in the student's settings."""
    base = tmp_path_factory.mktemp("korean-lab")
    work, home = base / "work", base / "home"
    shutil.copytree(korean_course.root / "release" / "backprop", work)
    (work / "backprop.ipynb").rename(work / "unfinished.ipynb")
    language = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "translation-extension"
    language.mkdir(parents=True)
    (language / "plugin.jupyterlab-settings").write_text(json.dumps({"locale": KOREAN_LOCALE}))
    yield from served(work, home, base, screenshots="korean-lab")


def test_jupyterlab_speaks_korean_and_the_notebook_runs_and_validates_in_korean(korean_lab):
    from selenium.webdriver.common.keys import Keys

    driver, url, token, folder = korean_lab.driver, korean_lab.url, korean_lab.token, korean_lab.folder
    open_notebook(driver, url, token, "unfinished.ipynb")
    menus = wait_for(
        driver,
        "const m = document.querySelector('.lm-MenuBar-content');"
        " return m && m.innerText.includes('파일') ? m.innerText : '';",
        30,
    )
    assert "File" not in menus and "편집" in menus, menus  # the language pack's menus
    menu_bar = driver.find_element("css selector", ".lm-MenuBar-content")
    drawn, font = hangul_is_drawn(driver, menu_bar)
    assert drawn, f"JupyterLab's menus draw Hangul as boxes in {font!r}"
    menu_bar.find_element("css selector", ".lm-MenuBar-item").click()  # the first menu (파일), open
    time.sleep(0.5)
    driver.save_screenshot(str(folder / "menus.png"))
    driver.find_element("css selector", "body").send_keys(Keys.ESCAPE)
    run_all(driver)
    text = outputs_text(driver)
    assert HANGUL.search(text), text[:2000]  # the kit's own words in the student's kernel
    scroll_to_text(driver, "STUDENT_ID")
    driver.save_screenshot(str(folder / "unfinished-run-all.png"))
    dialog = validate(driver, folder, "unfinished")
    assert (
        "Success" not in dialog and "The following cell failed" in dialog
    )  # nbgrader's own frame, in English
    kit_words = dialog.split("The following cell failed", 1)[1]
    assert HANGUL.search(kit_words), kit_words[:2000]  # the kit's text inside it, in Korean


def test_the_hangul_check_sees_boxes_where_no_font_has_hangul(tmp_path, monkeypatch):
    """The check above is not vacuous: a Chromium whose fontconfig knows only DejaVu (no Hangul)
    draws boxes, and hangul_is_drawn says so."""
    require_chromium()
    require_hangul_font()
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not dejavu.is_dir():
        pytest.skip("no DejaVu fonts to build a font list without Hangul from")
    (tmp_path / "fonts.conf").write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{dejavu}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    page = tmp_path / "page.html"
    page.write_text(
        '<!DOCTYPE html><meta charset="utf-8"><h1 style="font-family: sans-serif">역전파 계산 그래프</h1>',
        encoding="utf-8",
    )
    shown = {}
    for fonts in ("the machine's", "DejaVu only"):
        if fonts == "DejaVu only":
            monkeypatch.setenv("FONTCONFIG_FILE", str(tmp_path / "fonts.conf"))
        driver = chrome(600, 200)
        try:
            driver.get(page.as_uri())
            shown[fonts], _font = hangul_is_drawn(driver, driver.find_element("css selector", "h1"))
        finally:
            driver.quit()
    assert shown == {"the machine's": True, "DejaVu only": False}, shown
