"""The Definitions object that `dagster dev`, `dagster asset materialize` and the tests load:
the destination built from the inbox folder (the factory's default input mode), with the
channels, nightly schedule and catalog that listrak.yaml says when the code location loads."""

from listrak_assets.defs.destination import listrak_definitions

defs = listrak_definitions()
