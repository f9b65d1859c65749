"""`backprop-kit autograde`: a whole class graded in parallel, on one machine or a Dask cluster.

snapshot.py  what grading needs from the course, read from the gradebook once
pipeline.py  the pure function: one submission's bytes -> autograded notebooks and records
record.py    the coordinator's writes: gradebook, autograded/, reports (nbgrader's records)
run.py       the coordinator: finds submissions, schedules them, progress and summary
"""
