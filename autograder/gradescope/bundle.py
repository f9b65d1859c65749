"""Build the Gradescope autograder zip of one assignment.

    setup.sh, run_autograder        at the root, as Gradescope requires
    wheels/backprop_kit-*.whl       the kit, built from this project (its dependencies come from PyPI)
    course/                         nbgrader_config.py (the kit's), course.yaml and source/<assignment>/
                                    of the course: notebooks with their hidden tests, and bpkit/
    packages.txt                    course.yaml's grading.packages, which setup.sh installs
    bundle.json                     which assignment and notebooks

The course's own gradebook, submissions and nbgrader_config.py never go in: the bundle
grades one student at a time in a course of its own, on SQLite."""

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .. import __version__
from ..course import PACKAGE_DIR, REPO_ROOT
from ..words import speak

TEMPLATES = Path(__file__).resolve().parent / "templates"
EXECUTABLE = 0o755


class BundleError(RuntimeError):
    pass


def build_wheel(dest):
    """A wheel of the kit from the project's sources (copied first, so the build leaves no
    build/ or egg-info behind in the checkout)."""
    if not (REPO_ROOT / "pyproject.toml").is_file():
        raise BundleError(
            f"the kit's project files are not at {REPO_ROOT} (it was installed from a wheel?): "
            "run `backprop-kit gradescope` from a checkout installed with `pip install -e .`"
        )
    with tempfile.TemporaryDirectory(prefix="bpkit-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "setup.py", "README.md", "course.yaml"):
            shutil.copy2(REPO_ROOT / name, src / name)
        for package in ("autograder", "solutions", "assignments"):
            shutil.copytree(
                REPO_ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dest), str(src)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise BundleError(f"building the kit's wheel failed:\n{done.stderr[-3000:]}")
    wheels = sorted(Path(dest).glob("backprop_kit-*.whl"))
    if not wheels:
        raise BundleError(f"pip built no backprop_kit wheel in {dest}")
    return wheels[-1]


def build_bundle(course_dir, assignment, out_zip):
    """Write the zip; returns its path. ConfigError / BundleError say what is missing."""
    from ..config import load_course

    course_dir = Path(course_dir).resolve()
    course_yaml = course_dir / "course.yaml"
    if not course_yaml.is_file():
        raise BundleError(
            f"{course_dir} has no course.yaml: run this inside a course made by `backprop-kit init` "
            "(or pass --course DIR)"
        )
    course = load_course(course_yaml)
    speak(course)  # the command's closing words, in the course's language
    notebooks = list(course.assignment(assignment).notebooks)
    source = course_dir / "source" / assignment
    missing = [nb for nb in notebooks if not (source / f"{nb}.ipynb").is_file()]
    if missing or not (source / "bpkit").is_dir():
        raise BundleError(
            f"{source} lacks {', '.join(f'{nb}.ipynb' for nb in missing) or 'bpkit/'}: "
            "run `backprop-kit init` for this course first"
        )
    out_zip = Path(out_zip).resolve()
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bpkit-bundle-") as tmp:
        wheel = build_wheel(Path(tmp) / "wheels")
        partial = out_zip.with_name(out_zip.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in ("setup.sh", "run_autograder"):
                _add(zf, name, (TEMPLATES / name).read_bytes(), EXECUTABLE)
            _add(zf, f"wheels/{wheel.name}", wheel.read_bytes())
            _add(
                zf,
                "course/nbgrader_config.py",
                (PACKAGE_DIR / "templates" / "nbgrader_config.py").read_bytes(),
            )
            _add(zf, "course/course.yaml", course_yaml.read_bytes())
            # course.yaml's grading.packages, a requirements file setup.sh installs (checked names only)
            _add(zf, "packages.txt", "".join(f"{p}\n" for p in course.grading.packages).encode())
            for path in sorted(source.rglob("*")):
                if (
                    path.is_file()
                    and not path.is_symlink()
                    and "__pycache__" not in path.parts
                    and ".ipynb_checkpoints" not in path.parts
                ):
                    _add(
                        zf,
                        f"course/source/{assignment}/{path.relative_to(source).as_posix()}",
                        path.read_bytes(),
                    )
            _add(
                zf,
                "bundle.json",
                json.dumps(
                    {"assignment": assignment, "notebooks": notebooks, "kit_version": __version__}, indent=1
                ).encode(),
            )
        partial.replace(out_zip)
    return out_zip


def _add(zf, name, data, mode=0o644):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16  # a regular file with these permissions
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)
