"""The Definitions object that `dagster dev`, `dagster asset materialize` and the tests load:
the channels switched on, and the nightly schedule, as listrak.yaml says when the code location
loads."""

from listrak_assets.defs.channels import Channels, build_definitions
from listrak_assets.defs.schedules import nightly_from_settings

defs = build_definitions(Channels.from_settings(), nightly_from_settings())
