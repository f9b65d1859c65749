"""The tool's public key set at /hub/lti13/jwks, for an LMS that fetches it (Moodle's
"Public keyset URL", Canvas's "Public JWK URL") rather than having it pasted."""

from pathlib import Path

import tornado.web as web


class JwksHandler(web.RequestHandler):
    def initialize(self, path: str):
        self.path_to_jwks = Path(path)

    def get(self):
        self.set_header("Content-Type", "application/json")
        self.write(self.path_to_jwks.read_text())
