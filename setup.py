"""The wheel carries the kit's own course: course.yaml and the notebook sources of
assignments/ (kept at the top of the checkout, where instructors and the docs find them)
are copied into the built package as autograder/kit/, so `pip install backprop-kit` alone
can build a course (autograder/course.py: KIT_COURSE). Everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
KIT_COURSE_FILES = [
    "course.yaml",
    *sorted(p.relative_to(HERE).as_posix() for p in (HERE / "assignments").glob("*.py")),
]


class BuildWithKitCourse(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "autograder" / "kit"
        for name in KIT_COURSE_FILES:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(HERE / name, target / name)


setup(cmdclass={"build_py": BuildWithKitCourse})
