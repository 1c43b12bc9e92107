"""Sample-data generator: the six raw inputs that cleaning reads, realistic and deliberately messy.

    python -m listrak_assets.generator --customers 300 --seed 7 --out data/inbox \\
        --manifest data/sample_manifest.json

Cleaning can only be trusted if it is tested against dirt whose amount is known. So every row
carries at most one kind of dirt, the kinds are dealt out in exact numbers, and the manifest
written next to the files says how many rows cleaning must reject (and why), how many it must
merge as duplicates, which cosmetic fixes it must make, and how many dangling references it
must warn about. All work is whole-column numpy/polars (no per-row Python), so a million
customers take seconds, and one seed always gives byte-identical files.

Dirt kinds (manifest keys):

- reject: ``invalid_email``, ``invalid_phone``, ``invalid_date``, ``invalid_boolean``,
  ``invalid_number``, ``too_long``, ``missing_required`` (one invalid value, the rest of the
  row clean). Where that value is in a key or required column the row must be rejected for
  that reason and no other (``reject_dirt``); where it is in an optional column, cleaning's
  default (`invalid_optional: blank`) blanks the value and keeps the row (``blanked_dirt``);
- cosmetic (the row survives once fixed): ``email_case``, ``phone_format``, ``date_format``,
  ``datetime_format``, ``boolean_format``, ``gender_format``, ``price_format``,
  ``status_name``, ``line_breaks``, ``too_long_text``;
- ``duplicates``: extra copies of clean rows, same key once normalised, other ``updated_at``;
- referential (warn only): ``unknown_customer``, ``orphan_order``, ``orphan_sku``.

``updated_at`` is written in mixed formats on every row; that is the normal state of the column,
not counted dirt.

The world's formats ride on those kinds: phones from abroad (`phones`) are ``phone_format`` or,
after an exit code the US does not use, ``invalid_phone``; two-digit years are ``date_format``
and ``datetime_format``; amounts in the other decimal convention are ``invalid_number``. The
locale (`world`: decimal separator, source time zone) mirrors the cleaner's settings and is in
the manifest's ``settings``; in a zone with DST, ``dst_edges`` counts the ``updated_at`` values
written in a spring gap or an autumn overlap. SMS duplicates older than their row are opted out
(``sticky_opt_outs``), and ``opted_out`` counts the numbers that must come out opted out.

Demo and test tooling: the pipeline itself never imports it. Layout: `driver` (`generate()`),
`cli`, `tables/` (one module per file), and what they share: `dirt` (plans, exact counts,
duplicates, rendering one kind at a time), `values` (how a column is written, clean or dirty),
`people` (one pool of persons), `phones` (numbers abroad), `world` (the export's locale),
`vocabulary`, `exprs` (polars helpers), `files`, `manifest`.
"""

from listrak_assets.generator.cli import main
from listrak_assets.generator.driver import generate

__all__ = ["generate", "main"]
