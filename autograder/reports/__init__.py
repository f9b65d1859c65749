"""`backprop-kit report`: what the class got wrong, collected after grading.

collect.py reads nbgrader's gradebook (scores) and the kit's per-student reports (status,
misconceptions, decoded hand answers); exports.py writes cells.csv and canvas.csv;
integrity.py finds signals worth a look; page.py renders class.html (charts.py draws
its inline SVG)."""
