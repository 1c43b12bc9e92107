"""The Definitions object that `dagster dev`, `dagster asset materialize` and the tests load:
the channels switched on, the nightly schedule and the catalog's settings, as listrak.yaml
says when the code location loads."""

from listrak_assets.defs.catalog import Catalog
from listrak_assets.defs.channels import Channels, build_definitions
from listrak_assets.defs.schedules import nightly_from_settings

defs = build_definitions(
    Channels.from_settings(), nightly_from_settings(), catalog=Catalog.from_settings()
)
