"""How far to trust each method's maps, in words a reader can act on.

Two checks answer different questions and can rank methods in opposite
orders: deletion asks whether a map ranks the samples the score rests on;
parameter randomization asks whether the map depends on what the network
learned. :func:`trust_summary` runs both, measures why a map survives
randomization, asks with target randomization whether the map depends on the
class explained, and reads the numbers together.
"""

from ._result import TrustSummary
from ._summary import trust_summary

__all__ = ["TrustSummary", "trust_summary"]
