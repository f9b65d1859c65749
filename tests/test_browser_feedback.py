"""The feedback page as a student reads it: `nbgrader generate_feedback`'s HTML rendered in
headless Chromium (Debian's), checked on what the page shows, not on its source.
Screenshots go to the folder printed at the start (the last run's are kept)."""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import chrome, screenshot_folder

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Page:
    driver: object  # selenium's Chrome
    graded_course: object
    folder: Path  # for the screenshots


@pytest.fixture(scope="module")
def page(graded_course) -> Page:
    driver = chrome(1100, 900)
    try:
        yield Page(driver, graded_course, screenshot_folder("feedback"))
    finally:
        driver.quit()


def show(driver, graded_course, student):
    driver.get(graded_course.feedback(student).as_uri())
    return driver


def panel(driver, grade_id):
    from selenium.webdriver.common.by import By

    anchor = driver.find_element(By.CSS_SELECTOR, f'a[name="{grade_id}"]')
    return anchor.find_element(By.XPATH, "following-sibling::div[contains(@class, 'bpkit-exercise')]")


def test_every_exercise_shows_its_title_points_and_what_passed_and_failed(page):
    driver, graded_course, folder = page.driver, page.graded_course, page.folder
    show(driver, graded_course, "ben")
    toc = driver.find_element("css selector", "#toc").text.splitlines()
    assert len(toc) == len(graded_course.report("ben")["cells"]) and not any("Test cell" in t for t in toc)
    assert any(t.startswith("AddGate.backward: 0.0 / 2.0") for t in toc), toc
    add = panel(driver, "test_add_gate_backward")
    heading = add.find_element("css selector", ".panel-heading").text
    assert "AddGate.backward" in heading and "0.0 / 2.0 points" in heading
    text = add.text
    # The mistake is named once, after the words that explain it, and never on the failed lines.
    assert "Failed:" in text and text.count("(add-split)") == 1 and text.count("Hint:") == 1
    assert "looks like" not in text and text.index("halved the gradient") < text.index("(add-split)")
    add.screenshot(str(folder / "ben-addgate-backward.png"))
    good = panel(driver, "test_max_gate_backward").text
    assert "2.0 / 2.0 points" in good and "✓ Passed" in good and "Failed" not in good
    assert (
        "✗ backward dx and dy, on the lecture's numbers, Python floats, 0-d arrays, vectors and matrices"
        in text
    )
    body = driver.find_element("css selector", "body").text
    for hidden in ("BEGIN HIDDEN TESTS", "from autograder", "validate."):
        assert hidden not in body, hidden
    assert not re.search(r"Out\[[^\]]*\]:\s*\n\s*-?[0-9.]+\s*(\n|$)", body)  # no bare score under a cell
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(folder / "ben-top.png"))


def test_lines_wrap_and_nothing_scrolls_sideways(page):
    driver, graded_course = page.driver, page.graded_course
    show(driver, graded_course, "ben")
    overflow = driver.execute_script("""
        const wide = [...document.querySelectorAll('pre, .bpkit-feedback, .output_subarea')]
            .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className + ': ' + e.innerText.slice(0, 60));
        return [document.documentElement.scrollWidth - document.documentElement.clientWidth, wide];""")
    assert overflow == [0, []], overflow


def test_pictures_render_with_alt_text(page):
    driver, graded_course, folder = page.driver, page.graded_course, page.folder
    show(driver, graded_course, "carol")
    pictures = driver.execute_script(
        "return [...document.images].map(i => [i.naturalWidth, i.getAttribute('alt')])"
    )
    assert len(pictures) == 7, pictures
    for width, alt in pictures:
        assert width > 100 and alt.startswith("Computational graph: f(") and "gradient" in alt, (width, alt)
    driver.execute_script("document.images[1].scrollIntoView({block: 'center'})")
    driver.save_screenshot(str(folder / "carol-picture.png"))


def test_a_wrong_student_id_is_said_at_the_top_and_at_the_exercises_using_the_numbers(page):
    driver, graded_course, folder = page.driver, page.graded_course, page.folder
    show(driver, graded_course, "b")
    notice = driver.find_element("css selector", ".bpkit-notice")
    assert notice.is_displayed() and notice.location["y"] < 200
    assert "made with the numbers of student id 'a', but it is graded as student id 'b'" in notice.text
    driver.save_screenshot(str(folder / "b-top.png"))
    hand = panel(driver, "test_neuron_by_hand")
    assert "graded as student id 'b'" in hand.text and "right for the numbers of student id 'a'" in hand.text
    assert "looks like" not in hand.text
    hand.screenshot(str(folder / "b-neuron-by-hand.png"))
    assert "graded as student id" not in panel(driver, "test_add_gate_backward").text


def test_offline_the_page_requests_nothing_and_draws_its_math_and_pictures(page):
    """The network is off in the browser: the page must load nothing, and still show the
    student's LaTeX as typeset math (MathML in the page) and every picture."""
    driver, graded_course, folder = page.driver, page.graded_course, page.folder
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    try:
        show(driver, graded_course, "carol")
        requested = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
        assert [r for r in requested if not r.startswith("data:")] == [], requested
        maths = driver.execute_script("""return [...document.querySelectorAll('math')].map(m => {
            const r = m.getBoundingClientRect(); return [m.getAttribute('display'), r.width, r.height]; })""")
        assert [m[0] for m in maths] == ["inline", "block"], maths
        assert all(width > 40 and height > 10 for _, width, height in maths), maths  # drawn, not empty
        notes = driver.find_element("xpath", "//p[starts-with(normalize-space(.), 'My notes')]")
        assert "\\frac" not in notes.text and "$" not in notes.text
        assert all(
            driver.execute_script("return [...document.images].map(i => i.complete && i.naturalWidth > 100)")
        )
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", notes)
        driver.save_screenshot(str(folder / "carol-offline-math.png"))
    finally:
        driver.execute_cdp_cmd("Network.disable", {})


def test_an_unreadable_notebooks_page_is_the_reason_and_what_to_do(page):
    driver, graded_course, folder = page.driver, page.graded_course, page.folder
    show(driver, graded_course, "fay")
    body = driver.find_element("css selector", "body").text
    assert body.splitlines()[0].startswith("backprop: 0.0 / ")
    assert "Your notebook could not be read" in body and "submit the notebook as JupyterLab saves it" in body
    assert len(body.splitlines()) <= 4 and "NameError" not in body and "STUDENT_ID" not in body, body
    driver.save_screenshot(str(folder / "fay-unreadable.png"))
