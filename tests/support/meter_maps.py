"""Register maps of one's own (issue 11) as installers write them, shared by the integration tests."""

#: A profile of one's own: a Vendor X single-phase meter whose manual numbers its input registers from 1,
#: with power in kW and energy in Wh (the profile converts them to the canonical W and kWh).
MY_METER = """\
name = "my-meter"
description = "Vendor X single-phase meter"
source = "Vendor X 'Modbus map' v2, table 3"
numbering = "one-based"
[defaults]
function = "input"
[fields.power_w]
register = 13
unit = "kW"
[fields.energy_import_kwh]
register = 73
type = "uint32"
unit = "Wh"
[bounds]
power_w = [-18000, 18000]
energy_kwh = [0, 1e9]
[bounds.rise_per_hour]
energy_kwh = 18
"""
