"""`backprop-kit hub`: a course made by `backprop-kit init`, served by JupyterHub.

names.py      which student ids nbgrader's commands can handle (the exchange splits on `+`)
roster.py     the course's students: nbgrader's gradebook, a CSV imported into it
layout.py     who can reach what: the course account, students' servers, private homes
settings.py   HubSettings: the facts the hub configuration is built from (one JSON file)
hubconfig.py  configure(c, settings): what jupyterhub_config.py does when the hub starts
write.py      write_hub(): the folder `backprop-kit hub --out DIR` writes
students.py   add_student(): gradebook, hub user and course group in one step
exchange.py   PrivateSubmit: a submission only its student and the course account can read
"""
