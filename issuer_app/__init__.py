"""The city's issuing service (issue #12, first increment): a FastAPI app on a SQL database.

API keys (only their SHA-256 is stored) with scopes, single-use nonces for the device's proof
of possession, and ``POST /v1/cities/{city}/licences`` issuing through ``edl``. The ``edl``
package imports no web framework: ``edl serve issuer`` imports this package when it runs.
"""

DEFAULT_PORT = 8471

__all__ = ["DEFAULT_PORT"]
