"""Catalog readers: one module per source format, all producing `Product` or `RejectedRow`.

`read_catalog(path, fmt="auto")` detects the format from the path (file, zip or folder) and streams the rows.
A row that cannot become a product is yielded as a `RejectedRow` (with its row number) and the rest go on.
"""

from retrieval.readers.detect import FORMATS, CatalogFormatError, detect_format, read_catalog

__all__ = ["FORMATS", "CatalogFormatError", "detect_format", "read_catalog"]
