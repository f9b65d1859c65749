# Written by `backprop-kit hub`: nbgrader's global config for the course's students' servers
# and its formgrader service (JUPYTER_CONFIG_PATH points here), so the Assignments tab finds
# the course and everyone uses the same exchange. Course groups come from JupyterHub.
# Submissions are made readable by the course account only (autograder/hub/exchange.py).
from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821 (provided by nbgrader)
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
c.Exchange.path_includes_course = True
c.Authenticator.plugin_class = JupyterHubAuthPlugin
c.ExchangeFactory.submit = "autograder.hub.exchange.PrivateSubmit"
# Grading on submit (autograder/hub/on_submit.py): the attempt limits and cooldowns the kit's
# submit obeys, and where the grading service tells each student their attempts and queue.
c.PrivateSubmit.rules_file = {rules_file!r}
c.OnSubmitList.rules_file = {rules_file!r}
c.ExchangeFactory.list = "autograder.hub.exchange.OnSubmitList"
