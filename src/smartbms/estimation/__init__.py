"""State estimation: SOC, SOH, energy, time-to-go and charge/discharge limits.

The controller needs only :class:`PackEstimator`; the cell model and the estimators behind it are
importable for tools (``smartbms characterize``/``estimate``/``validate``).
"""

from smartbms.estimation.cell_model import CellModel, load_cell_model, shipped_model
from smartbms.estimation.pack import PackEstimate, PackEstimator

__all__ = ["CellModel", "PackEstimate", "PackEstimator", "load_cell_model", "shipped_model"]
