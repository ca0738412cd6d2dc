"""The reply a read request must get, checked byte by byte: TCP headers, RTU frames and CRCs."""

from __future__ import annotations

import pytest
from pymodbus.framer import FramerRTU

from drivers.modbus_frame import Expected, check_reply, crc16

TCP_REQUEST = bytes.fromhex("002a 0000 0006 05 04 0000 0002")  # tid 42, unit 5, input regs 0+2
TCP_REPLY = bytes.fromhex("002a 0000 0007 05 04 04 4366 199a")
TCP_EXCEPTION = bytes.fromhex("002a 0000 0003 05 84 02")


def rtu(frame_hex: str) -> bytes:
    frame = bytes.fromhex(frame_hex)
    return frame + crc16(frame).to_bytes(2, "little")


RTU_REQUEST = rtu("05 04 0000 0002")
RTU_REPLY = rtu("05 04 04 4366 199a")
RTU_EXCEPTION = rtu("05 84 02")


def test_the_expectation_is_read_from_the_request_as_sent():
    assert Expected.from_request("tcp", TCP_REQUEST) == Expected("tcp", 5, 4, 2, 42)
    assert Expected.from_request("rtu", RTU_REQUEST) == Expected("rtu", 5, 4, 2, 0)
    assert Expected.from_request("tcp", bytes.fromhex("0001 0000 0006 05 06 0000 0001")) is None  # a write


def test_our_crc_is_the_one_on_the_wire():
    for frame in (bytes.fromhex("05 04 04 4366 199a"), bytes.fromhex("01 03 00 00 00 0a")):
        assert crc16(frame).to_bytes(2, "little") == FramerRTU.compute_CRC(frame).to_bytes(2, "big")


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        (TCP_REPLY, "complete"),
        (TCP_EXCEPTION, "complete"),
        (TCP_REPLY[:3], "partial"),
        (TCP_REPLY[:9], "partial"),  # header fine, registers still to come
        (TCP_REPLY + b"\x00", "complete"),
        (bytes(b ^ 0xA5 for b in TCP_REPLY), "garbled"),
        (bytes.fromhex("002b"), "garbled"),  # another transaction's answer
        (bytes.fromhex("002a 0001"), "garbled"),  # protocol id 1
        (bytes.fromhex("002a 0000 0007 06"), "garbled"),  # another unit
        (bytes.fromhex("002a 0000 0007 05 41"), "garbled"),  # an unknown function
        (bytes.fromhex("002a 0000 0005 05 04 02"), "garbled"),  # one register instead of two
    ],
)
def test_a_tcp_reply_is_garbled_at_its_first_wrong_byte(data, verdict):
    assert check_reply(Expected.from_request("tcp", TCP_REQUEST), data) == verdict


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        (RTU_REPLY, "complete"),
        (RTU_EXCEPTION, "complete"),
        (b"\x00" + RTU_REPLY, "complete"),  # a stray byte on the line before the frame
        (RTU_REPLY[:5], "partial"),
        (RTU_REPLY[:-1] + bytes([RTU_REPLY[-1] ^ 1]), "garbled"),  # wrong CRC
        (RTU_REPLY[:4] + b"\x00" + RTU_REPLY[5:], "garbled"),  # a bit flipped in the data
        (bytes(b ^ 0xA5 for b in RTU_REPLY), "noise"),  # nothing that starts the reply
    ],
)
def test_an_rtu_reply_is_complete_only_with_its_crc(data, verdict):
    assert check_reply(Expected.from_request("rtu", RTU_REQUEST), data) == verdict
