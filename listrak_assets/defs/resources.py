"""Resources: the destination settings and the Parquet storage of every table."""

from pathlib import Path

import dagster as dg
import polars as pl

from listrak_assets.settings import Settings, config_path, load_settings


class ListrakSettings(dg.ConfigurableResource):
    """The destination settings file (`listrak.yaml`, or LISTRAK_CONFIG when set)."""

    path: str | None = None

    def load(self) -> Settings:
        return load_settings(Path(self.path) if self.path else config_path())


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores each table as `<warehouse>/<asset key path>.parquet`.

    Our own because dagster-polars can't load Parquet under polars 2.x, and because it must
    add no data samples (PII) to metadata.
    """

    settings: dg.ResourceDependency[ListrakSettings]
    base_dir: str | None = None  # overrides the settings' warehouse folder (tests)

    def _path(self, key: dg.AssetKey) -> Path:
        base = Path(self.base_dir) if self.base_dir else self.settings.load().warehouse
        return base.joinpath(*key.path).with_suffix(".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".parquet.tmp")
        obj.write_parquet(tmp)
        tmp.replace(path)  # readers never see a half-written table
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        return pl.read_parquet(self._path(context.asset_key))
