"""Shared test settings: headless plots, no progress bars, the repository root importable (for tools/)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("CI", "1")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
