"""The synchronous diagnostics toolbox (service ``Samples/DiagnosticsSync``).

A toolbox publishes every tool in its module, so this module imports Echo alone:
Wait and Fail make no sense in a request that must answer at once.
"""

from gpserver.samples.diagnostics import echo

__all__ = ["echo"]
