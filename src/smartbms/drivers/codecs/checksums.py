"""Checksums of the supported board protocols, as plain functions of bytes."""

from __future__ import annotations


def sum8(data: bytes) -> int:
    """Low byte of the byte sum (Daly 0xA5 frames, JK BLE frames)."""
    return sum(data) & 0xFF


def sum16(data: bytes) -> int:
    """Low 16 bits of the byte sum (JK RS485 frames)."""
    return sum(data) & 0xFFFF


def jbd_checksum(data: bytes) -> int:
    """JBD: 0x10000 minus the byte sum, kept to 16 bits."""
    return (0x10000 - sum(data)) & 0xFFFF


def _crc16_modbus_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC16_TABLE = _crc16_modbus_table()


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _CRC16_TABLE[(crc ^ byte) & 0xFF]
    return crc


def pylontech_checksum(ascii_body: bytes) -> int:
    """Pylontech ASCII frames: two's complement of the sum of the ASCII characters."""
    return (~sum(ascii_body) + 1) & 0xFFFF


def pylontech_length(info_chars: int) -> int:
    """The LENGTH word: 4-bit check nibble over LENID, then the 12-bit LENID itself."""
    lenid = info_chars & 0x0FFF
    nibbles = (lenid & 0xF) + ((lenid >> 4) & 0xF) + ((lenid >> 8) & 0xF)
    check = (-nibbles) % 16
    return (check << 12) | lenid
