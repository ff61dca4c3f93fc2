"""Chart tests: the real Helm engine (tests/support/helm_chart.py), the operator's helpers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "operator"))  # operator_helpers
