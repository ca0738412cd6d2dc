"""Reporting over the hourly archive: what was consumed, in what weather, against which reference.

Rules of this package:
- it only reads: the archive (:class:`gateway.archive.Archive`, or :class:`gateway.report.reader.ReadOnlyArchive`
  for tools running beside the daemon) through the small :class:`gateway.report.reader.ArchiveReader`
  protocol; nothing here writes a file or touches the event loop;
- the arithmetic is pure and separate from the reads: :mod:`.degree_days` (DJU), :mod:`.signature`
  (energy signature, climate normalisation, saving) take plain numbers and dates;
- days are local days of the site's time zone (DST-safe), energy comes from the archive's counter
  deltas (exact over days), temperatures from its hourly minimum and maximum;
- the past that has settled (more than :data:`gateway.report.meters.SETTLED_S` old) is cached by the
  readers that need speed (the admin page, the public page); a report is recomputed on demand.

Modules: :mod:`.meters` (the Énergie page's per-meter totals), :mod:`.reader` (archive access),
:mod:`.degree_days`, :mod:`.station_csv`, :mod:`.signature`, :mod:`.daily` (per-day figures per
building), :mod:`.compare` (a period against its reference), outputs (:mod:`.outputs` for JSON and
the yearly CSV, :mod:`.council` for the printable report, :mod:`.svg` for charts), :mod:`.public`
(the public page's aggregates), :mod:`.refresh` (background recomputation), :mod:`.door` (what the
web reads) and :mod:`.summary` (the daily summary and health points uploaded to the intercommunality).
See docs/reporting.md.
"""
