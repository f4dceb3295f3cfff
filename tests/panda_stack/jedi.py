"""Run JEDI's master (all its agents) in the PanDA environment: ``python jedi.py``.

One setting differs from a bare ``JediMaster().start()``: each task-buffer worker process
opens two database connections instead of one. panda-jedi's ``JediTaskBuffer`` is built with
``nDBConnection=1``, and two of its methods (``prepareTasksToBeFinished_JEDI``, which the
post-processor calls to finish a task, and ``setScoutJobDataToTasks_JEDI``) hold that one
connection while ``get_site_mapper()`` asks the same pool for another whenever the worker has
not built its site mapper in the last ten minutes. The worker then waits on itself for ever
and no task ever leaves ``running`` (seen as a post-processor stuck in its first request, in
whichever worker process got that request first). The code is the same upstream today; with a
second connection the nested request is served, and nothing else changes.
"""

from pandajedi.jedicore import JediTaskBuffer

JediTaskBuffer.JediTaskBuffer.__init__.__defaults__ = (2,)  # nDBConnection; see above

from pandajedi.jediorder.JediMaster import JediMaster  # noqa: E402 - after the setting

JediMaster().start()
