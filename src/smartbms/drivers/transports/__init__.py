"""Byte transports for the board drivers: serial ports, TCP gateways and BLE."""
