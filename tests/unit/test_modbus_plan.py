"""Block coalescing: how many requests each profile costs, and the cost rule itself."""

from __future__ import annotations

from fractions import Fraction

import pytest

from drivers.modbus_plan import MAX_REGISTERS, REQUEST_OVERHEAD_BYTES, plan_blocks
from drivers.modbus_profile import FieldSpec, load_profile


@pytest.mark.parametrize(
    ("profile", "bus_kind", "blocks"),
    [
        # Eastron: everything in 0x00..0x4B; on TCP one request, on RS-485 the big gaps are skipped
        ("sdm120", "tcp", [(4, 0, 76)]),
        ("sdm120", "rtu", [(4, 0, 14), (4, 30, 2), (4, 70, 6)]),
        ("sdm630", "tcp", [(4, 0, 76)]),
        ("sdm630", "rtu", [(4, 0, 18), (4, 52, 24)]),
        # Schneider: instantaneous values 3000..3111 and energies 3204..3211 (manual numbers)
        ("iem3155", "tcp", [(3, 2999, 112), (3, 3203, 8)]),
        (
            "iem3155",
            "rtu",
            [(3, 2999, 6), (3, 3027, 6), (3, 3053, 8), (3, 3083, 2), (3, 3109, 2), (3, 3203, 8)],
        ),
        # ABB: energies at 0x5000, instantaneous at 0x5B00
        ("abb-b23", "tcp", [(3, 0x5000, 8), (3, 0x5B00, 59)]),
        ("abb-b23", "rtu", [(3, 0x5000, 8), (3, 0x5B00, 28), (3, 0x5B2C, 1), (3, 0x5B3A, 1)]),
        # Socomec: metrology table and energy table
        ("countis-e23", "tcp", [(3, 50520, 30), (3, 50770, 8)]),
        ("countis-e23", "rtu", [(3, 50520, 30), (3, 50770, 8)]),
        ("pulse-counter", "tcp", [(3, 0, 2)]),
        ("pulse-counter", "rtu", [(3, 0, 2)]),
    ],
)
def test_requests_per_poll_for_each_profile(profile, bus_kind, blocks):
    plan = plan_blocks(load_profile(profile).fields, bus_kind=bus_kind)
    assert [(b.function_code, b.start, b.count) for b in plan] == blocks
    assert all(b.count <= MAX_REGISTERS for b in plan)
    # every field is read exactly once
    assert sorted(f.name for b in plan for f in b.fields) == sorted(
        f.name for f in load_profile(profile).fields
    )


def _f(address: int, *, function: str = "input", reg_type: str = "float32") -> FieldSpec:
    return FieldSpec(f"f{address}", function, address, reg_type, "big", Fraction(1), "W", frozenset())  # type: ignore[arg-type]


def test_a_gap_is_read_through_only_when_cheaper_than_a_new_request():
    overhead = REQUEST_OVERHEAD_BYTES["rtu"]  # 20 bytes: a gap of 9 registers (18 bytes) is worth it
    assert overhead == 20
    assert len(plan_blocks([_f(0), _f(2 + 9)], bus_kind="rtu")) == 1
    assert len(plan_blocks([_f(0), _f(2 + 10)], bus_kind="rtu")) == 2


def test_holding_and_input_registers_are_never_mixed():
    plan = plan_blocks([_f(0), _f(2, function="holding")], bus_kind="tcp")
    assert [(b.function_code, b.start) for b in plan] == [(3, 2), (4, 0)]


def test_no_request_exceeds_125_registers():
    fields = [_f(a) for a in range(0, 400, 2)]
    plan = plan_blocks(fields, bus_kind="tcp")
    assert [b.count for b in plan] == [124, 124, 124, 28]


def test_without_gap_reading_only_touching_fields_are_merged():
    plan = plan_blocks([_f(0), _f(2), _f(6)], bus_kind="tcp", read_gaps=False)
    assert [(b.start, b.count) for b in plan] == [(0, 4), (6, 2)]


def test_a_block_decodes_each_field_at_its_offset():
    (block,) = plan_blocks([_f(0, reg_type="uint16"), _f(3, reg_type="uint16")], bus_kind="rtu")
    assert block.decode([7, 0, 0, 9]) == [("f0", 7.0, None), ("f3", 9.0, None)]
    with pytest.raises(ValueError, match="got 3 registers"):
        block.decode([7, 0, 0])


@pytest.mark.parametrize("plain", [False, True], ids=["scaled-with-markers", "as-is"])
@pytest.mark.parametrize("word_order", ["big", "little"])
@pytest.mark.parametrize("reg_type", ["uint16", "int16", "uint32", "int32", "uint64", "int64", "float32"])
def test_a_block_decodes_like_pymodbus_convert_from_registers(reg_type, word_order, plain):
    """The block unpacks its registers with one ``struct`` call per run: the values are pymodbus's own."""
    import random

    from pymodbus.client.mixin import ModbusClientMixin

    from drivers.modbus_decode import _scaled

    markers = frozenset() if plain else frozenset({"all_ones", "max_signed", "min_signed"})
    factor = Fraction(1) if plain else Fraction(1, 10)
    width = {"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "uint64": 4, "int64": 4, "float32": 2}[reg_type]
    fields = [
        FieldSpec(f"f{a}", "input", a, reg_type, word_order, factor, "W", markers)  # type: ignore[arg-type]
        for a in (0, width, 2 * width, 4 * width)  # a run of three, a gap, one more
    ]
    (block,) = plan_blocks(fields, bus_kind="tcp")
    rng = random.Random(f"{reg_type}-{word_order}")
    data_type = ModbusClientMixin.DATATYPE[reg_type.upper()]
    for _ in range(200):
        registers = [rng.choice((0, 0xFFFF, 0x7FFF, 0x8000, rng.randrange(65536))) for _ in range(block.count)]
        expected = []
        for field in fields:
            words = registers[field.address : field.address + width]
            raw = ModbusClientMixin.convert_from_registers(words, data_type, word_order=word_order)
            ordered = words if word_order == "big" else words[::-1]
            as_int = int.from_bytes(b"".join(w.to_bytes(2, "big") for w in ordered), "big")
            bits = 16 * width
            marker = not plain and as_int in ((1 << bits) - 1, (1 << (bits - 1)) - 1, 1 << (bits - 1))
            value, reason = (None, "not_available") if marker else _scaled(field, raw)  # type: ignore[arg-type]
            expected.append((field.name, value, reason))
        assert block.decode(registers) == expected
