"""Pure decisions: functions of (site, state, now). No I/O, no clock, no threads."""
