"""A real PanDA stack on 127.0.0.1 for tests: PostgreSQL, panda-server under gunicorn, JEDI,
a test pilot and the server's adder. Nothing here is SHREK: it starts PanDA's own code, in its
own environment (``.venv-panda``, made by ``make install-panda-stack``), and stops every process
it started. See README "Testing against a real PanDA server"."""
