"""Filter and paging conformance of a live SCIM server (``recon probe``).

``battery`` is the list of filters asked; ``run`` asks them and compares each answer with the
same filter evaluated locally over the server's own full export.
"""

from recon.probe.run import ProbeSummary, probe

__all__ = ["ProbeSummary", "probe"]
