"""class.html: one self-contained page (inline CSS, SVG and a few lines of JS) a TA can open
offline, mail, or keep beside the gradebook."""

import datetime
import os
from collections import Counter
from pathlib import Path

import jinja2
import markupsafe

from solutions.table import CATALOG_BY_ID as MISCONCEPTIONS

from ..words import _, in_force, student_words
from . import charts
from .variants import difficulty_line, difficulty_warning
from .wording import for_people

TEMPLATES = Path(__file__).resolve().parent / "templates"
BAR_WIDTH = 360


def short(grade_id):
    return grade_id.removeprefix("test_")


def exercise_summaries(results):
    summaries = []
    for notebook, grade_id in results.cells:
        rows = results.rows_of_cell(notebook, grade_id)
        if not rows:
            continue
        full = sum(1 for r in rows if r.max_score > 0 and r.score >= r.max_score)
        statuses = Counter(r.status for r in rows)
        bins = Counter(charts.score_bin(r.score / r.max_score if r.max_score else 0) for r in rows)
        labels = [label for label, _, _ in charts.SCORE_BINS]
        summaries.append(
            {
                "notebook": notebook,
                "grade_id": grade_id,
                "label": short(grade_id),
                "n": len(rows),
                "full": full,
                "pass_rate": full / len(rows),
                "mean": sum(r.score for r in rows) / len(rows),
                "max_score": max(r.max_score for r in rows),
                "statuses": dict(statuses),
                "status_bars": charts.stacked_bar(statuses, BAR_WIDTH),
                "histogram": charts.histogram(bins, labels, 150, 60),
            }
        )
    return summaries


def ranked_misconceptions(results):
    """[{id, explanation, hint, students, where: [(cell, count)]}], most students first."""
    students: dict = {}
    where: dict = {}
    for r in results.rows:
        for m in r.misconceptions:
            students.setdefault(m, set()).add(r.student_id)
            where.setdefault(m, Counter())[short(r.grade_id)] += 1
    ranked = sorted(students, key=lambda m: (-len(students[m]), m))
    out = []
    for m in ranked:
        known = MISCONCEPTIONS.get(m)
        out.append(
            {
                "id": m,
                "explanation": student_words(known.explanation) if known else "",
                "hint": student_words(known.hint) if known else "",
                "students": sorted(students[m]),
                "where": where[m].most_common(),
            }
        )
    return out


def totals_histogram(results):
    labels = [f"{10 * i}–{10 * i + 9}%" for i in range(9)] + ["90–100%"]
    counts: Counter = Counter()
    for total in results.totals.values():
        share = total / results.max_score if results.max_score else 0
        counts[labels[min(int(share * 10 + 1e-9), 9)]] += 1
    return charts.histogram(counts, labels, 560, 130)


def student_rows(results, out_dir):
    rows = []
    for student in results.submitted:
        cells = {(r.notebook, r.grade_id): r for r in results.rows_for(student)}
        links = []
        for notebook in dict.fromkeys(nb for nb, _cell in results.cells):
            html = results.course_dir / "feedback" / student / results.assignment / f"{notebook}.html"
            if html.is_file():
                links.append((notebook, Path(os.path.relpath(html, out_dir)).as_posix()))
        info = results.students.get(student)
        rows.append(
            {
                "id": student,
                "name": info.name if info else "",
                "total": results.totals[student],
                "feedback": links,
                "cells": [cells.get(key) for key in results.cells],
            }
        )
    return rows


def render(results, signals, out_dir, course_id="", variants=None, difficulty=None):
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = for_people
    env.filters["css_name"] = lambda status: (status or "none").replace(" ", "-")
    env.filters["pct"] = lambda v: f"{100 * v:.0f}%"
    # Words from the catalog; names put into them keep their markup (escaped, then bold or code).
    env.globals.update(
        _=_,
        STATUS_WORDS=charts.STATUS_WORDS,
        bold=lambda text: markupsafe.Markup("<b>{}</b>").format(text),
        code=lambda text: markupsafe.Markup("<code>{}</code>").format(text),
    )
    misconceptions = ranked_misconceptions(results)
    return env.get_template("class.html.j2").render(
        language=in_force(),
        course_id=course_id,
        assignment=results.assignment,
        results=results,
        generated=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        exercises=exercise_summaries(results),
        misconceptions=misconceptions,
        variants=variants or {},
        difficulty=difficulty or {},
        difficulty_line=difficulty_line,
        difficulty_warning=difficulty_warning,
        misconception_bars=charts.horizontal_bars(
            [(m["id"], len(m["students"])) for m in misconceptions], BAR_WIDTH
        ),
        totals=totals_histogram(results),
        students=student_rows(results, out_dir),
        signals=signals,
        status_colors=charts.STATUS_COLORS,
        status_order=charts.STATUS_ORDER,
        short=short,
        mean_total=sum(results.totals.values()) / len(results.totals),
    )
