"""LTI 1.3: students and staff launch the course's hub from the LMS, and grades go back to it.

- `config.py` — the one file `backprop-kit hub --lti CONFIG` reads (the platform's URLs and
  ids, who the hub user is, which roles are staff), checked with errors naming the key and line.
- `setup.py` — what that command writes from it: the hub's half (the authenticator's settings,
  kept in the hub's settings file) and the tool's half (the key the kit signs with and the
  settings grade passback reads, in the course directory, owned by the course account).
- `login.py` — the hub's authenticator: JupyterHub's own `jupyterhub-ltiauthenticator`, with
  what a course adds (a launch's nonce used once, roles to the course's groups, the launch's
  user id and grade service remembered for passback).
- `ags.py` — LTI Advantage's Assignment and Grade Services as a client: the client-credentials
  token (a JWT signed with the tool's key, by PyJWT), the line item found or created once per
  assignment, a score posted.
- `outbox.py` + `passback.py` — scores wait in a queue on disk (the course account's files)
  until the platform has taken them; `post_scores` is what every grading path calls.
"""
