"""`python -m listrak_assets.generate`, the generator's first command name: kept working for
scripts that use it. The generator lives in `listrak_assets.generator`."""

from listrak_assets.generator import generate, main

__all__ = ["generate", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
