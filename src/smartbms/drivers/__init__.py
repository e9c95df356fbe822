"""Drivers for commercial BMS boards: codecs, transports, emulators and board sources.

``open_board(spec)`` (in :mod:`smartbms.drivers.source`) is the entry point for the
controller; :mod:`smartbms.drivers.registry` lists the protocols by name.
"""
