"""State of function: the charge/discharge limits the pack can honour right now."""
