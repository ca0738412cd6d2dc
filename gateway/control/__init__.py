"""Heating and lighting control: everything between the rules' decision and the relays, in one folder.

"Why did this relay switch?" is answered here:

- :mod:`~gateway.control.loop`: the control service; triggers (tick, readings, edges, edits) ->
  evaluate -> apply;
- :mod:`~gateway.control.inputs`: what the rules read (state store, inputs, settings rows, the
  edited schedules layered over the configured site);
- :mod:`~gateway.control.outputs`: the relays (boot states, re-assertion, journaled switches);
- :mod:`~gateway.control.safety`: the safe levels while the rules fail, one episode at a time;
- :mod:`~gateway.control.clock_steps`: trusted time and wall-clock steps on a Pi without RTC;
- :mod:`~gateway.control.memory`: the engine memory and relay state kept across restarts;
- :mod:`~gateway.control.status`: the view of each decision the façade publishes;
- :mod:`~gateway.control.facade`: the one door other threads use (the admin page, MQTT commands);
  :mod:`~gateway.control.values` its errors and views, :mod:`~gateway.control.views` builds them,
  :mod:`~gateway.control.bounds` holds every change to the same limits;
- :mod:`~gateway.control.settings_store`: the local SQLite file of edits, overrides and audit.

This package's ``__init__`` imports nothing (importing :mod:`gateway.control.outputs` at boot stays light).
"""
