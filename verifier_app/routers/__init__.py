"""The verifier's HTTP routes: ``verify`` (POST /verify, GET /challenge) and ``bundle``."""
