"""The officer's handheld: an offline web page served on localhost, FastAPI over :mod:`edl`.

``create_app(settings)`` in :mod:`verifier_app.main`; ``edl serve verifier`` starts it. This
package holds no crypto logic: every verdict comes from ``edl.verify_qr.verify_presentation``
and every bundle check from ``edl.pins.Pins.load_bundle``. Nothing about a holder is stored or
logged.
"""

__all__ = ["DEFAULT_PORT"]

DEFAULT_PORT = 8470
"""The verifier's own port (the issuer's service uses another)."""
