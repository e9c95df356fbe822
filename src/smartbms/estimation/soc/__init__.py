"""State-of-charge estimators: coulomb counting, the per-cell EKF and the events that anchor them."""
