"""State of health: capacity learned between SOC anchors, resistance learned from current steps."""
