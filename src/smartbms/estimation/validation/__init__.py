"""Validation of the estimators against PyBaMM (optional extra ``validate``)."""
