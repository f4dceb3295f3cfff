"""Run panda-server's adder daemon (``add_main``) for a bounded time, in the PanDA environment.

The adder finishes the jobs a pilot left in ``holding`` (with the dummy adder plugin) and
archives them; in production a daemon loops over it forever. ``python adder.py SECONDS``.
"""

import os
import sys
import threading

from pandaserver.daemons.scripts import add_main

worker = threading.Thread(target=add_main.main, args=(["add_main", "0"],), daemon=True)
worker.start()
worker.join(float(sys.argv[1]))
os._exit(0)  # its worker threads never end by themselves
