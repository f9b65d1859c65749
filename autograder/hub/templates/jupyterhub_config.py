# Written by `backprop-kit hub`; run it with the kit's environment:
#   {bin_dir}/jupyterhub -f {config_file} --ip 127.0.0.1 --port 8000
# It reads backprop-kit-hub.json beside it and the course's roster (its nbgrader gradebook) at
# every start. Rerunning `backprop-kit hub` rewrites this file: put your own settings (another
# authenticator's options, say) in local_config.py beside it, which is never overwritten.
import os

from autograder.hub.hubconfig import configure

c = get_config()  # noqa: F821 (provided by JupyterHub)
here = os.path.dirname(os.path.abspath(__file__))
configure(c, here)

local = os.path.join(here, "local_config.py")
if os.path.exists(local):
    load_subconfig(local)  # noqa: F821 (provided by JupyterHub)
