"""A whole course on a real JupyterHub, in headless Chromium: real PAM logins of system
accounts made here, each user's server run as that account by JupyterHub's default spawner,
formgrader as a hub service run as the course account, nbgrader's exchange.

The instructor opens formgrader from the hub's Services menu (top-level: JupyterHub sends
frame-ancestors 'none', so it is never framed) and releases; two students fetch from the
Assignments tab, see their own numbers (the hub user, no id typed), Validate and submit;
the TA collects, grades with `backprop-kit autograde`, generates and releases feedback;
each student fetches and reads it; one student's server cannot read the other's work.
A student's server has no formgrader, course list or create-assignment (the instructor's has).
Each user keeps one browser, logged in once. Screenshots of each step go to the screenshot
folder (tests/browser.py)."""

import json
import time
from pathlib import Path

import nbformat
import pytest
from browser import SCREENSHOTS, chrome, require_chromium, screenshot_folder
from hub_course import ACCOUNT_PREFIX, BIN, hub_course, lab_for_tests, run

from autograder import demo

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

GRADER, INSTRUCTOR = f"{ACCOUNT_PREFIX}-grader", f"{ACCOUNT_PREFIX}-ta"
ANN, BEN = f"{ACCOUNT_PREFIX}-ann", f"{ACCOUNT_PREFIX}-ben"  # ann correct, ben with add-split
OUTSIDER = f"{ACCOUNT_PREFIX}-out"  # a hub user in no course group
COURSE_ID, ASSIGNMENT = "cs231n-backprop", "backprop"


@pytest.fixture(scope="module")
def hub():
    # Its own course and gradings, not the shared class's (shared_class.py): students submit
    # through a real JupyterHub, and the grader grades in its own account.
    require_chromium()
    roster = f"id,first_name,last_name,email\n{ANN},Ann,Lee,ann@example.org\n"
    with hub_course([GRADER, INSTRUCTOR, ANN, BEN, OUTSIDER], GRADER, INSTRUCTOR, roster) as course:
        said = course.written.stdout
        assert "jupyterhub -f" in said and "add-student" in said, said
        lab_for_tests(course)
        # No "get Jupyter news?" toast over the instructor's pages; the students' servers
        # get that from the hub's students' config (checked below).
        quiet_lab(Path("~" + INSTRUCTOR).expanduser(), INSTRUCTOR)
        with course.running() as h:
            yield h


def quiet_lab(home, user):
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    for folder, name, value in (
        ("apputils-extension", "notification", {"fetchNews": "false", "checkForUpdates": False}),
        ("notebook-extension", "tracker", {"windowingMode": "none"}),
    ):
        (settings / folder).mkdir(parents=True, exist_ok=True)
        (settings / folder / f"{name}.jupyterlab-settings").write_text(json.dumps(value))
    run(["chown", "-R", f"{user}:{user}", str(home / ".jupyter")])


def wait_for(driver, script, timeout, *args):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.3)
    driver.save_screenshot(str(SCREENSHOTS / "hub" / "timed-out.png"))  # what the page showed instead
    raise AssertionError(
        f"timed out after {timeout} s waiting for: {script}\npage: "
        + driver.execute_script("return document.body ? document.body.innerText : ''")[:3000]
    )


def log_in(driver, hub, user, lab=True):
    from selenium.webdriver.common.by import By

    driver.execute_cdp_cmd(
        "Network.clearBrowserCookies", {}
    )  # every path's: the hub's, each server's, the service's
    driver.get(f"{hub.url}/hub/login")
    driver.find_element(By.ID, "username_input").send_keys(user)
    driver.find_element(By.ID, "password_input").send_keys(hub.password)
    driver.find_element(By.ID, "login_submit").click()
    if not lab:
        return
    wait_for(driver, "return !!(window.jupyterapp && window.jupyterapp.started)", 120)
    wait_for(driver, "return !!document.querySelector('.jp-LabShell')", 60)


class Sessions:
    """One browser per user, logged in once and kept: switching users by logging in again
    reloaded JupyterLab each time (8 log-ins, 3 browsers now carry 4 users)."""

    def __init__(self, hub):
        self.hub, self.drivers = hub, {}

    def of(self, user):
        if user not in self.drivers:
            self.drivers[user] = chrome(1400, 1000)
            log_in(self.drivers[user], self.hub, user)
        return self.drivers[user]

    def close(self, user):
        self.drivers.pop(user).quit()

    def quit(self):
        for driver in self.drivers.values():
            driver.quit()


def nbgrader_ui(driver, hub, user, folder, name):
    """What nbgrader puts in this user's JupyterLab and server: the Nbgrader menu's entries
    (opened for the screenshot), whether its formgrader plugin loaded, and /formgrader's status."""
    driver.execute_script("""const item = [...document.querySelectorAll('.lm-MenuBar-item')].find(e => e.innerText.trim() === 'Nbgrader');
        const r = item.getBoundingClientRect(), at = {bubbles: true, button: 0, clientX: r.x + 5, clientY: r.y + 5};
        item.dispatchEvent(new PointerEvent('pointerdown', at)); item.dispatchEvent(new MouseEvent('mousedown', at));""")
    entries = wait_for(
        driver,
        "const m = document.querySelector('#jp-mainmenu-nbgrader');"
        " return m && m.innerText.trim() ? m.innerText : '';",
        30,
    )
    driver.save_screenshot(str(folder / f"{name}.png"))
    driver.execute_script(
        "document.body.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', keyCode: 27, bubbles: true}))"
    )
    plugin = driver.execute_script("return window.jupyterapp.hasPlugin('@jupyter/nbgrader:formgrader')")
    status = status_as(driver, f"{hub.url}/user/{user}/formgrader")
    return [e.strip() for e in entries.split("\n") if e.strip()], plugin, status


def status_as(driver, url):
    """The HTTP status of `url` fetched with this browser's cookies (redirects followed)."""
    import urllib.error
    import urllib.request

    cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Cookie": cookie}), timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def settings_as(driver, url):
    """JupyterLab's settings of one plugin, as the user's server serves them (JSON), with this
    browser's cookies: the schema's defaults are the ones overrides.json set."""
    import urllib.request

    cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Cookie": cookie}), timeout=30) as r:
        return json.loads(r.read())


def click_text(driver, selector, text, timeout=60):
    """Click the first element matching selector whose text is `text` (waiting for it)."""
    wait_for(
        driver,
        """
        const el = [...document.querySelectorAll(arguments[0])].find(e => e.innerText.trim() === arguments[1] && !e.disabled);
        if (el) { el.scrollIntoView({block: 'center'}); el.click(); return true; } return false;""",
        timeout,
        selector,
        text,
    )


def kernel_run(driver, code, timeout=120):
    """Run code in a new kernel of the student's own server (so as that user); its stdout and errors."""
    driver.set_script_timeout(timeout)
    return driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        let out = '';
        window.jupyterapp.serviceManager.kernels.startNew({name: 'python3'}).then(kernel => {
        const future = kernel.requestExecute({code: arguments[0]});
        future.onIOPub = msg => { if (msg.header.msg_type === 'stream') out += msg.content.text;
                                  if (msg.header.msg_type === 'error') out += msg.content.ename + ': ' + msg.content.evalue; };
        future.done.then(() => { kernel.shutdown(); done(out); }, () => done(out)); });""",
        code,
    )


def formgrader_action(driver, hub, folder, column, name):
    """Click formgrader's button in the assignment's column (release, collect, ...) and wait for its success message."""
    driver.get(f"{hub.url}/services/{COURSE_ID}/formgrader/manage_assignments")
    wait_for(driver, f"return !!document.querySelector('td.{column} a')", 60)
    driver.execute_script(f"document.querySelector('td.{column} a').click()")
    text = wait_for(
        driver,
        """const m = document.querySelector('.modal-body');
        return m && /Success|error/i.test(m.innerText) ? m.innerText : '';""",
        180,
    )
    driver.save_screenshot(str(folder / f"{name}.png"))
    assert "Success" in text, text
    return text


def open_assignments(driver):
    driver.execute_script("window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
    wait_for(
        driver, "return !!document.querySelector('#fetched_assignments_list, #released_assignments_list')", 60
    )
    # Open already in a kept session: its lists are as old as its last look.
    driver.execute_script("const b = document.querySelector('#refresh_assignments_list'); if (b) b.click();")


def open_notebook(driver, path):
    driver.execute_script("window.jupyterapp.commands.execute('docmanager:open', {path: arguments[0]})", path)
    wait_for(
        driver,
        "const w = window.jupyterapp.shell.currentWidget; return !!(w && w.context && w.context.path === arguments[0]"
        " && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.status === 'idle')",
        120,
        path,
    )


def run_all(driver):
    driver.set_script_timeout(180)
    driver.execute_async_script("""const done = arguments[arguments.length - 1];
        window.jupyterapp.commands.execute('notebook:run-all-cells').then(() => done(true), () => done(false));""")
    wait_for(
        driver,
        "return window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'"
        " && ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))",
        120,
    )
    driver.set_script_timeout(60)
    driver.execute_async_script("""const done = arguments[arguments.length - 1];
        window.jupyterapp.commands.execute('docmanager:save').then(() => done(true), () => done(false));""")
    time.sleep(1)
    # The notebook was written on disk (the answers filled in) just before it was opened; when
    # the clock's resolution makes JupyterLab think it changed since, keep the open version.
    driver.execute_script("""const b = [...document.querySelectorAll('.jp-Dialog button')].find(b => b.innerText.trim() === 'Overwrite');
        if (b) b.click();""")


def service_header(hub, path, name):
    """A header of the service's answer to a request (not followed: the service answers itself)."""
    import http.client
    from urllib.parse import urlsplit

    connection = http.client.HTTPConnection(urlsplit(hub.url).netloc, timeout=20)
    connection.request("GET", path)
    response = connection.getresponse()
    connection.close()
    return response.getheader(name) or ""


def scroll_to(driver, text):
    """Bring the first element showing `text` into view (for the screenshot), in a notebook or a page."""
    driver.execute_script(
        """const all = [...document.querySelectorAll('.jp-OutputArea-output, p, li, div, pre')];
        const el = all.reverse().find(e => e.innerText && e.innerText.includes(arguments[0]));
        if (el) el.scrollIntoView({block: 'center'});""",
        text,
    )
    time.sleep(0.5)


def fill_fetched(student, answers_of):
    """The student's answers written into the notebook they fetched, as they would type them."""
    path = Path("~" + student).expanduser() / COURSE_ID / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.write(simulated_class.fill(nb, answers_of), path)
    run(["chown", f"{student}:{student}", str(path)])
    time.sleep(1.1)  # a modification time JupyterLab tells apart from the fetch's
    return path


def test_a_course_on_jupyterhub_from_release_to_feedback(hub):
    from selenium.webdriver.common.by import By

    folder = screenshot_folder("hub")
    source = nbformat.read(hub.course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    correct = simulated_class.reference_answers(source)
    answers = {ANN: correct, BEN: {**correct, "add_gate": simulated_class.MISTAKES["add-split"][1]}}

    # A student added while the hub runs: one command.
    added = run([BIN / "backprop-kit", "add-student", BEN, "--hub", str(hub.out)])
    assert "the hub and the course group" in added.stdout, added.stdout

    sessions = Sessions(hub)
    try:
        # 0. A hub user in no course group (made through the hub's API, as an admin might) is
        # stopped at the start of their server, told why and what the staff run.
        run(
            [
                "curl",
                "-sf",
                "-X",
                "POST",
                "-H",
                f"Authorization: token {(hub.out / 'roster-api-token').read_text().strip()}",
                f"http://127.0.0.1:{json.loads((hub.out / 'backprop-kit-hub.json').read_text())['hub_port']}/hub/api/users/{OUTSIDER}",
            ]
        )
        driver = sessions.drivers[OUTSIDER] = chrome(1400, 1000)
        log_in(driver, hub, OUTSIDER, lab=False)
        said = wait_for(
            driver,
            "return document.body && document.body.innerText.includes('is not in the course group')"
            " ? document.body.innerText : ''",
            90,
        )
        driver.save_screenshot(str(folder / "0-outsider-refused.png"))
        assert f"{OUTSIDER} is not in the course group nbgrader-{COURSE_ID}" in said
        assert f"backprop-kit add-student {OUTSIDER} --hub {hub.out}" in said
        sessions.close(OUTSIDER)

        # 1. The instructor opens formgrader from the Services menu and releases.
        driver = sessions.of(INSTRUCTOR)
        # The instructor's own server keeps nbgrader's staff tools.
        entries, plugin, status = nbgrader_ui(driver, hub, INSTRUCTOR, folder, "1-instructor-nbgrader-menu")
        assert "Formgrader" in entries and plugin and status == 200, (entries, plugin, status)
        driver.get(f"{hub.url}/hub/home")
        driver.find_element(By.LINK_TEXT, "Services").click()
        time.sleep(0.5)
        driver.save_screenshot(str(folder / "1-instructor-services-menu.png"))
        entry = driver.find_element(By.CSS_SELECTOR, f"a[href*='/services/{COURSE_ID}/']")
        assert entry.text.strip() == f"Formgrader ({COURSE_ID})", entry.text  # what a TA looks for
        entry.click()
        wait_for(driver, "return document.body && document.body.innerText.includes('Manage Assignments')", 90)
        assert driver.current_url.startswith(f"{hub.url}/services/{COURSE_ID}/formgrader"), driver.current_url
        wait_for(driver, f"return document.body.innerText.includes('{ASSIGNMENT}')", 60)
        driver.save_screenshot(str(folder / "1-formgrader.png"))
        # Why top-level: this JupyterHub forbids framing the service's pages.
        csp = service_header(hub, f"/services/{COURSE_ID}/formgrader", "Content-Security-Policy")
        assert "frame-ancestors 'none'" in csp, csp
        formgrader_action(driver, hub, folder, "release", "1-released")

        # 2. Two students fetch, see their own numbers, Validate and submit.
        for student in (ANN, BEN):
            driver = sessions.of(student)
            if student == ANN:  # a student's server has no formgrader, course list or create-assignment
                entries, plugin, status = nbgrader_ui(
                    driver, hub, student, folder, f"2-{student}-nbgrader-menu"
                )
                assert (
                    "Assignment List" in entries
                    and "Formgrader" not in entries
                    and "Course List" not in entries
                ), entries
                assert plugin is False and status == 404, (plugin, status)
                assert not driver.execute_script(
                    "return window.jupyterapp.hasPlugin('@jupyter/nbgrader:create-assignment')"
                )
                # JupyterLab's news question is answered "never" for students by the hub's config
                # (this student has no settings of their own).
                news = settings_as(
                    driver,
                    f"{hub.url}/user/{student}/lab/api/settings/@jupyterlab/apputils-extension:notification",
                )
                news = news["schema"]["properties"]["fetchNews"]["default"]
                assert news == "false", news
                assert not driver.execute_script(
                    "return [...document.querySelectorAll('.Toastify__toast')].some(t => /news/i.test(t.innerText))"
                )
            open_assignments(driver)
            click_text(driver, "#released_assignments_list button", "Fetch")
            wait_for(
                driver,
                f"return document.querySelector('#fetched_assignments_list').innerText.includes('{ASSIGNMENT}')",
                60,
            )
            driver.save_screenshot(str(folder / f"2-{student}-fetched.png"))
            fill_fetched(student, answers[student])
            open_notebook(driver, f"{COURSE_ID}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
            run_all(driver)
            outputs = driver.execute_script(
                "return [...window.jupyterapp.shell.currentWidget.node"
                ".querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n')"
            )
            assert f"These numbers belong to student id '{student}'" in outputs
            scroll_to(driver, "These numbers belong to")
            driver.save_screenshot(str(folder / f"2-{student}-own-numbers.png"))
            driver.find_element(By.CSS_SELECTOR, "jp-button.validate-button").click()
            validated = wait_for(
                driver,
                """const d = document.querySelector('.jp-Dialog-content');
                const t = d ? d.innerText : ''; return /Success|FAILED|failed/.test(t) ? t : '';""",
                120,
            )
            driver.save_screenshot(str(folder / f"2-{student}-validate.png"))
            if student == ANN:
                assert "Success" in validated, validated
            else:  # add-split's backward is not the slope of its forward: Validate says so; ben submits anyway
                assert (
                    "AddGate.backward: your code disagrees with itself" in validated
                    and "add-split" in validated
                ), validated
            driver.find_element(
                By.CSS_SELECTOR, ".jp-Dialog-content .jp-Dialog-footer button, .jp-Dialog-button"
            ).click()
            open_assignments(driver)
            click_text(driver, "#fetched_assignments_list button", "Submit")
            wait_for(
                driver,
                f"return document.querySelector('#submitted_assignments_list').innerText.includes('{ASSIGNMENT}')",
                60,
            )
            driver.save_screenshot(str(folder / f"2-{student}-submitted.png"))

        # 3. The TA collects, grades with backprop-kit autograde (as the course account), releases feedback.
        driver = sessions.of(INSTRUCTOR)
        formgrader_action(driver, hub, folder, "collect", "3-collected")
        graded = run(
            [BIN / "backprop-kit", "autograde", ASSIGNMENT], user=hub.grader, cwd=hub.course, check=False
        )
        assert graded.returncode == 0, graded.stdout + graded.stderr
        formgrader_action(driver, hub, folder, "generate-feedback", "3-feedback-generated")
        formgrader_action(driver, hub, folder, "release-feedback", "3-feedback-released")

        # 4. Each student fetches their feedback and reads it.
        pages = {}
        for student in (ANN, BEN):
            driver = sessions.of(student)
            open_assignments(driver)
            click_text(driver, "#submitted_assignments_list button", "Fetch Feedback")
            wait_for(
                driver,
                "return document.querySelector('#submitted_assignments_list').innerText.includes('view feedback')",
                60,
            )
            feedback = sorted(
                (Path("~" + student).expanduser() / COURSE_ID / ASSIGNMENT / "feedback").glob("*/*.html")
            )
            assert len(feedback) == 1, feedback
            relative = feedback[0].relative_to(Path("~" + student).expanduser())
            driver.get(f"{hub.url}/user/{student}/files/{relative}")
            wait_for(driver, "return document.body && document.body.innerText.includes('points')", 60)
            pages[student] = driver.execute_script("return document.body.innerText")
            scroll_to(driver, "halved the gradient" if student == BEN else "points")
            driver.save_screenshot(str(folder / f"4-{student}-feedback.png"))
        total = {
            s: run(
                [
                    BIN / "python",
                    "-c",
                    f"from nbgrader.api import Gradebook; g = Gradebook('sqlite:///{hub.course}/gradebook.db');"
                    f" print(g.find_submission('{ASSIGNMENT}', '{s}').score, g.find_submission('{ASSIGNMENT}', '{s}').max_score)",
                ],
                user=hub.grader,
            ).stdout.split()
            for s in (ANN, BEN)
        }
        assert total[ANN][0] == total[ANN][1] and float(total[BEN][0]) < float(total[BEN][1]), total
        for student in (ANN, BEN):  # each page shows its own student's points, as the gradebook has them
            score, max_score = (float(x) for x in total[student])
            assert f"{ASSIGNMENT}: {score} / {max_score} points" in pages[student], pages[student][:500]
        assert "add-split" in pages[BEN] or "halved the gradient" in pages[BEN], pages[BEN][:3000]
        assert "halved the gradient" not in pages[ANN]

        # 5. From ben's own server, as ben: nothing of ann's can be read.
        driver = sessions.of(BEN)
        driver.get(
            f"{hub.url}/user/{BEN}/lab"
        )  # back from the feedback page: kernels are started from JupyterLab
        wait_for(driver, "return !!(window.jupyterapp && window.jupyterapp.started)", 120)
        wait_for(
            driver,
            "return !!document.querySelector('.jp-LabShell') && !document.querySelector('#jupyterlab-splash')",
            60,
        )
        ann_home = Path("~" + ANN).expanduser()
        inbound = hub.exchange / COURSE_ID / "inbound"
        [ann_submission] = inbound.glob(f"{ANN}+{ASSIGNMENT}+*")  # as root: what ben could only guess
        tries = {
            "the exchange's submissions": f"os.listdir({str(inbound)!r})",
            "the exchange's feedback": f"os.listdir({str(hub.exchange / COURSE_ID / 'feedback')!r})",
            "ann's home": f"os.listdir({str(ann_home)!r})",
            "ann's fetched notebook": f"open({str(ann_home / COURSE_ID / ASSIGNMENT / (ASSIGNMENT + '.ipynb'))!r}).read()",
            # even knowing the exact path (nbgrader's own submit leaves it 0777 with 0644 files)
            "ann's submission folder": f"os.listdir({str(ann_submission)!r})",
            "ann's submitted notebook": f"open({str(ann_submission / (ASSIGNMENT + '.ipynb'))!r}).read()",
            "the course's submissions": f"os.listdir({str(hub.course / 'submitted')!r})",
            "the course's feedback": f"os.listdir({str(hub.course / 'feedback' / ANN)!r})",
            "the gradebook": f"open({str(hub.course / 'gradebook.db')!r}, 'rb').read()",
        }
        code = "import os, getpass\nprint('user', getpass.getuser())\n" + "".join(
            f"try:\n    {expr}\n    print({'READ ' + what!r})\nexcept PermissionError:\n    print({'denied ' + what!r})\n"
            for what, expr in tries.items()
        )
        said = kernel_run(driver, code)
        # What ben's kernel printed, shown over his JupyterLab for the screenshot.
        driver.execute_script(
            """const pre = document.createElement('pre'); pre.textContent = arguments[0];
            pre.style.cssText = 'position:fixed;top:80px;left:320px;background:#fff;border:2px solid #333;padding:12px;z-index:9999;font-size:14px';
            document.body.appendChild(pre);""",
            "ben's kernel, as " + BEN + ":\n" + said,
        )
        driver.save_screenshot(str(folder / "5-ben-tries-ann.png"))
        assert f"user {BEN}" in said, said
        for what in tries:
            assert f"denied {what}" in said, said
    except BaseException:
        print("hub log:\n" + hub.log())
        raise
    finally:
        sessions.quit()


def gradebook_value(hub, expression):
    """`expression` over nbgrader's Gradebook `g`, evaluated as the course account."""
    return run(
        [
            BIN / "python",
            "-c",
            f"from nbgrader.api import Gradebook; g = Gradebook('sqlite:///{hub.course}/gradebook.db'); print({expression})",
        ],
        user=hub.grader,
    ).stdout.strip()


def test_a_ta_grades_by_hand_in_formgrader_and_it_reaches_the_feedback_and_the_exports(hub):
    """Manual Grading → Submission #1 opens (it failed with TemplateNotFound while the course's
    config set every HTMLExporter's template); a TA's comment and a score typed there reach the
    student's feedback, nbgrader's grades.csv and the kit's canvas.csv. Runs after the test
    above, on its graded and released submissions."""
    import csv

    if not list((hub.course / "autograded").glob(f"*/{ASSIGNMENT}")):
        pytest.skip("needs the graded submissions of test_a_course_on_jupyterhub_from_release_to_feedback")
    folder = screenshot_folder("hub")
    comment, score = "Nice work on the forward pass; see me about backward.", 1.5
    driver = chrome(1400, 1000)
    try:
        log_in(driver, hub, INSTRUCTOR, lab=False)
        driver.get(f"{hub.url}/services/{COURSE_ID}/formgrader/gradebook/{ASSIGNMENT}/{ASSIGNMENT}")
        click_text(driver, "a", "Submission #1", timeout=90)
        wait_for(
            driver,
            "return document.querySelector('textarea.comment') || /error/i.test(document.body.innerText)",
            90,
        )
        driver.save_screenshot(str(folder / "6-manual-grading-submission.png"))
        page = driver.execute_script("return document.body.innerText")
        assert "encountered an error" not in page, page[:2000]
        submission = driver.current_url.split("/submissions/")[1].split("/")[0]
        student = gradebook_value(
            hub, f"g.find_submission_notebook_by_id({submission!r}).assignment.student.id"
        )
        box = driver.execute_script("return document.querySelector('textarea.comment').id")
        answer_cell = box[: -len("-comment")]
        for selector, text in ((f"#{box}", comment), ("#test_add_gate_backward", str(score))):
            driver.execute_script(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})", selector
            )
            field = driver.find_element("css selector", selector)
            field.clear()
            field.send_keys(text)
            driver.execute_script(
                "document.querySelector(arguments[0]).dispatchEvent(new Event('change', {bubbles: true}));"
                "document.querySelector(arguments[0]).blur();",
                selector,
            )
        recorded = (
            f"g.find_comment({answer_cell!r}, {ASSIGNMENT!r}, {ASSIGNMENT!r}, {student!r}).manual_comment"
        )
        grade = f"g.find_grade('test_add_gate_backward', {ASSIGNMENT!r}, {ASSIGNMENT!r}, {student!r}).manual_score"
        deadline = time.time() + 60
        while (gradebook_value(hub, recorded), gradebook_value(hub, grade)) != (comment, str(score)):
            assert time.time() < deadline, (gradebook_value(hub, recorded), gradebook_value(hub, grade))
            time.sleep(1)
        driver.save_screenshot(str(folder / "6-manual-grading-typed.png"))

        formgrader_action(driver, hub, folder, "generate-feedback", "6-feedback-generated-again")
        formgrader_action(driver, hub, folder, "release-feedback", "6-feedback-released-again")
        page_html = (hub.course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        assert comment.replace("'", "&#39;") in page_html or comment in page_html
        add = page_html.split('name="test_add_gate_backward"')[1].split('class="cell border-box-sizing')[0]
        assert f"{score} / 2.0 points" in add, add[:600]
        driver.get("file://" + str(hub.course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"))
        scroll_to(driver, comment)
        driver.save_screenshot(str(folder / "6-feedback-with-ta-comment.png"))

        total = float(gradebook_value(hub, f"g.find_submission({ASSIGNMENT!r}, {student!r}).score"))
        exported = run([BIN / "nbgrader", "export"], user=hub.grader, cwd=hub.course, check=False)
        assert exported.returncode == 0, exported.stderr
        with open(hub.course / "grades.csv", newline="") as f:
            # a row per assignment and student: the course has the network assignment too
            rows = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == ASSIGNMENT}
        assert float(rows[student]["score"]) == pytest.approx(total)
        reported = run(
            [BIN / "backprop-kit", "report", ASSIGNMENT], user=hub.grader, cwd=hub.course, check=False
        )
        assert reported.returncode == 0, reported.stdout + reported.stderr
        [canvas] = (hub.course / "backprop-kit").glob(f"**/{ASSIGNMENT}/canvas.csv")
        with open(canvas, newline="") as f:
            lines = list(csv.reader(f))
        [row] = [r for r in lines if student in r]
        assert float(row[-1]) == pytest.approx(round(total, 3))
    except BaseException:
        print("hub log:\n" + hub.log())
        raise
    finally:
        driver.quit()
