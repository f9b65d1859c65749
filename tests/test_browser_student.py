"""A student in a real browser: the released notebook in a real JupyterLab with nbgrader's
extension (started here, on 127.0.0.1 with a token and a private HOME), driven in headless
Chromium. Run all cells, look at what shows, click Validate on an unfinished and on a
correct notebook. Screenshots go to the folder printed at the start (the last run's are kept)."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from browser import chrome, require_chromium, screenshot_folder
from kit_course import kit_course

from autograder import demo
from solutions.table import GATES

pytestmark = [pytest.mark.browser, pytest.mark.e2e]  # e2e: Validate runs real nbgrader on the notebook

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

STUDENT = "alice"  # the JupyterHub user the server runs for


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Lab:
    driver: object  # selenium's Chrome
    url: str  # JupyterLab's
    token: str
    folder: Path  # for the screenshots


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    """JupyterLab serving a student's folder: the release's bpkit/, the untouched release
    notebook and a correct one. The course is built for it alone: nothing needs grading."""
    require_chromium()
    base = tmp_path_factory.mktemp("lab")
    course_dir = kit_course(tmp_path_factory, base / "course")
    work, home = base / "work", base / "home"
    shutil.copytree(course_dir / "release" / "backprop", work)
    (work / "backprop.ipynb").rename(work / "unfinished.ipynb")
    source = nbformat.read(course_dir / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(work / "unfinished.ipynb", as_version=4)
    nbformat.write(
        simulated_class.fill(release, simulated_class.reference_answers(source)), work / "correct.ipynb"
    )
    yield from served(work, home, base)


def served(work, home, base, student=STUDENT, screenshots="student"):
    """JupyterLab serving `work` for JupyterHub user `student`, and a headless Chromium:
    yields a Lab; stops both after."""
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".local" / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / ".ipython"),
        "JUPYTERHUB_USER": student,
    }
    env.pop("BPKIT_STUDENT_ID", None)
    # JupyterLab draws only the cells in view by default; draw them all, so the page holds
    # every output the student can scroll to.
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    news = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)  # and no "get notified about Jupyter news?" toast over the page
    (news / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    log = open(base / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            "--ServerApp.allow_root=True",
            "--ServerApp.port_retries=0",
            "--LabApp.expose_app_in_browser=True",
        ],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start: " + (base / "server.log").read_text()[-2000:])
        driver = chrome(1400, 1000)
        try:
            yield Lab(driver, url, token, screenshot_folder(screenshots))
        finally:
            driver.quit()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def open_notebook(driver, url, token, name):
    driver.get(f"{url}/lab/tree/{name}?reset&token={token}")  # reset: no tabs restored from the last page
    wait_for(
        driver,
        "return !!(window.jupyterapp && window.jupyterapp.shell.currentWidget"
        f" && window.jupyterapp.shell.currentWidget.context.path === '{name}'"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle')",
        90,
    )


def wait_for(driver, script, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout} s waiting for: {script}")


def run_all(driver):
    """JupyterLab's Run All Cells, as the Run menu does it; returns when the kernel is done."""
    driver.set_script_timeout(180)
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        window.jupyterapp.commands.execute('notebook:run-all-cells').then(() => done(true), () => done(false));""")
    wait_for(
        driver,
        "return window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'"
        " && ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))",
        120,
    )


NOTEBOOK = "window.jupyterapp.shell.currentWidget.node"  # the open notebook, not other tabs restored with it


def outputs_text(driver):
    return driver.execute_script(
        f"return [...{NOTEBOOK}.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n')"
    )


def rendered_pictures(driver):
    """(natural width, shown width) of every picture drawn in the notebook's outputs: a
    picture that failed to render has a natural width of 0."""
    return driver.execute_script(
        f"return [...{NOTEBOOK}.querySelectorAll('.jp-RenderedSVG img, .jp-RenderedSVG svg, .jp-RenderedImage img')]"
        ".map(e => [e.naturalWidth === undefined ? e.getBoundingClientRect().width : e.naturalWidth,"
        " e.getBoundingClientRect().width])"
    )


def validate(driver, folder, name):
    """Click nbgrader's Validate button and return the text of the dialog it opens."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "jp-button.validate-button").click()
    text = wait_for(
        driver,
        """
        const d = document.querySelector('.jp-Dialog-content');
        const t = d ? d.innerText : '';
        return (t.includes('Success') || t.includes('FAILED') || t.includes('failed')) ? t : '';""",
        120,
    )
    time.sleep(0.5)
    driver.save_screenshot(str(folder / f"{name}-validate.png"))
    driver.execute_script("""const b = document.querySelector('.jp-Dialog-body');
        const errors = b ? b.querySelectorAll('pre') : [];
        if (errors.length) errors[errors.length - 1].scrollIntoView({block: 'start'});""")  # the error, below the source
    time.sleep(0.3)
    driver.save_screenshot(str(folder / f"{name}-validate-error.png"))
    driver.find_element(
        By.CSS_SELECTOR, ".jp-Dialog-content .jp-Dialog-footer button, .jp-Dialog-button"
    ).click()
    return text


def scroll_to_text(driver, text):
    driver.execute_script(
        """
        const t = arguments[0];
        const el = [...window.jupyterapp.shell.currentWidget.node.querySelectorAll('.jp-OutputArea-output')]
            .find(e => e.innerText.includes(t));
        if (el) el.scrollIntoView({block: 'center'});""",
        text,
    )
    time.sleep(0.5)


def test_the_released_notebook_runs_shows_its_pictures_and_stops_at_the_first_stub(lab):
    driver, url, token, folder = lab.driver, lab.url, lab.token, lab.folder
    open_notebook(driver, url, token, "unfinished.ipynb")
    run_all(driver)
    text = outputs_text(driver)
    assert f"These numbers belong to student id '{STUDENT}'" in text
    assert "replace this line with your code" in text  # the first stub stops the run, saying what to do
    pictures = rendered_pictures(driver)  # the lecture's graph and the student's own, before the first stub
    assert len(pictures) == 2 and all(natural > 100 and shown > 100 for natural, shown in pictures), pictures
    scroll_to_text(driver, "replace this line with your code")
    driver.save_screenshot(str(folder / "unfinished-run-all.png"))


def test_validate_fails_an_unfinished_notebook_naming_the_exercises(lab):
    driver, url, token, folder = lab.driver, lab.url, lab.token, lab.folder
    open_notebook(driver, url, token, "unfinished.ipynb")
    text = validate(driver, folder, "unfinished")
    assert "Success" not in text
    assert "not finished yet" in text and "AddGate.forward" in text
    assert "f = (x + y) · z by hand (part 1): answer q, f, dfdq, dfdz, dfdx, dfdy" in text
    # One failing cell (the notebook's last graded one), so the dialog shows one cell's source.
    assert text.count("The following cell failed") == 1
    assert "AddGate.backward: write forward, then backward, in the AddGate cell" in text


def test_a_correct_notebook_runs_its_self_checks_and_validates(lab):
    driver, url, token, folder = lab.driver, lab.url, lab.token, lab.folder
    open_notebook(driver, url, token, "correct.ipynb")
    run_all(driver)
    text = outputs_text(driver)
    assert "Traceback" not in text and "Error" not in text, text[-2000:]
    assert text.count("backward matches the slope of your forward") == len(GATES)  # one per gate of the table
    assert "simple_with_gates agrees with your hand answers." in text
    assert "Your answers have the right form." in text
    pictures = rendered_pictures(driver)
    assert len(pictures) == 7 and all(natural > 100 and shown > 100 for natural, shown in pictures), pictures
    scroll_to_text(driver, "AddGate: backward matches")
    driver.save_screenshot(str(folder / "correct-self-checks.png"))
    assert "Success! Your notebook passes all the tests." in validate(driver, folder, "correct")
