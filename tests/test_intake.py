"""Only the student's own regular files travel out of a submission folder."""

import os

from autograder.intake import copy_submission


def test_regular_files_travel_and_everything_else_is_refused_with_a_reason(tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("every student's grades")
    sub = tmp_path / "submitted" / "ann" / "backprop"
    (sub / "data").mkdir(parents=True)
    (sub / "backprop.ipynb").write_text("{}")
    (sub / "data" / "notes.txt").write_text("mine")
    os.link(sub / "data" / "notes.txt", sub / "notes-again.txt")  # both names inside: fine
    os.symlink(secret, sub / "grades.db")
    os.symlink(tmp_path, sub / "course")
    os.link(secret, sub / "hard.db")
    os.mkfifo(sub / "pipe")
    (sub / "huge.bin").write_bytes(b"x" * 2048)

    out = tmp_path / "autograded" / "ann" / "backprop"
    intake = copy_submission(sub, out, max_file_bytes=1024)

    assert sorted(intake.copied) == ["backprop.ipynb", "data/notes.txt", "notes-again.txt"]
    reasons = {r.path: r.reason for r in intake.refused}
    assert set(reasons) == {"grades.db", "course", "hard.db", "pipe", "huge.bin"}
    assert "symbolic link" in reasons["grades.db"] and "symbolic link" in reasons["course"]
    assert (
        "hard link" in reasons["hard.db"] and "named pipe" in reasons["pipe"] and "cap" in reasons["huge.bin"]
    )
    copied = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert copied == sorted(intake.copied)
    assert not any(p.is_symlink() for p in out.rglob("*"))
    assert (out / "data" / "notes.txt").read_text() == "mine"


def test_skipped_names_are_checked_but_not_copied_and_the_record_keeps_the_refusals(tmp_path):
    from autograder.intake import read_refused, write_record

    sub = tmp_path / "sub"
    (sub / ".ipynb_checkpoints").mkdir(parents=True)
    (sub / "backprop.ipynb").write_text("{}")
    (sub / ".ipynb_checkpoints" / "backprop-checkpoint.ipynb").write_text("{}")
    (sub / "helper.py").write_text("x = 1")
    os.symlink("/etc/passwd", sub / "linked.ipynb")
    intake = copy_submission(sub, tmp_path / "out", skip=[".ipynb_checkpoints", "*.ipynb"])
    assert intake.copied == ["helper.py"]
    assert [(r.path, "symbolic link" in r.reason) for r in intake.refused] == [("linked.ipynb", True)]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["helper.py"]
    write_record(tmp_path, "backprop", "ann", intake)
    assert read_refused(tmp_path, "backprop", "ann") == [
        {"path": "linked.ipynb", "reason": intake.refused[0].reason}
    ]
    assert read_refused(tmp_path, "backprop", "nobody") == []


def test_a_submission_folder_that_is_a_link_is_refused_whole(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "backprop.ipynb").write_text("{}")
    os.symlink(tmp_path / "real", tmp_path / "sub")
    intake = copy_submission(tmp_path / "sub", tmp_path / "out")
    assert intake.copied == [] and [r.path for r in intake.refused] == ["."]
    assert "symbolic link" in intake.refused[0].reason and not any((tmp_path / "out").iterdir())


def test_the_kit_routes_every_copy_nbgrader_makes_of_a_submission():
    """submitted_files replaces BaseConverter.init_assignment; if a newer nbgrader copied
    student files anywhere else, this fails and the kit must route that copy too."""
    import ast
    import inspect

    import nbgrader.converters as converters

    copies = set()
    for module in (converters.base, converters.autograde, converters.generate_feedback):
        tree = ast.parse(inspect.getsource(module))
        for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
            for fn in [n for n in cls.body if isinstance(n, ast.FunctionDef)]:
                if any(
                    isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "shutil"
                    for n in ast.walk(fn)
                ):
                    copies.add(f"{cls.name}.{fn.name}")
    # Autograde.init_assignment copies only the instructor's source files, after calling the base method.
    assert copies == {"BaseConverter.init_assignment", "Autograde.init_assignment"}
    source = inspect.getsource(converters.Autograde.init_assignment)
    assert (
        "super(Autograde, self).init_assignment" in source
        and "source_path = self.coursedir.format_path(self.coursedir.source_directory" in source
    )

    from nbgrader.converters.base import BaseConverter

    from autograder.grading import submitted_files

    stock = BaseConverter.init_assignment
    try:
        submitted_files.install()
        assert BaseConverter.init_assignment is submitted_files._init_assignment
    finally:
        BaseConverter.init_assignment = stock
