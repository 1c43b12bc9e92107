"""The Definitions object that `dagster dev`, `dagster asset materialize` and the tests load:
the channels switched on in listrak.yaml, and the catalog's settings, when the code location
loads."""

from listrak_assets.defs.catalog import Catalog
from listrak_assets.defs.channels import Channels, build_definitions

defs = build_definitions(Channels.from_settings(), Catalog.from_settings())
