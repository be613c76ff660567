"""The results report: Table 1 against the paper, figures and index.html, built
from the run folders (entry point: scripts/report.py, see results/README.md)."""
