"""`python -m irsa_explorer.analysis.findings > docs/findings.md`"""

from .catalogue import catalogue_markdown

print(catalogue_markdown(), end="")
