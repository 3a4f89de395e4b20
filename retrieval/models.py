"""Catalog domain objects, the one shape every reader produces."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

# A price is a finite, non-negative number ("1e309" in an export reads as infinity).
Price = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Variant(BaseModel):
    """One purchasable option of a product (retail-store `item_id`)."""

    id: str
    options: dict[str, str] = Field(default_factory=dict)
    price: Price | None = None
    in_stock: bool = True


class Product(BaseModel):
    """A catalog product. `id` is the source's own identifier, unchanged."""

    id: str
    title: str
    description: str = ""
    brand: str = ""
    category: str = ""
    price: Price | None = None
    currency: str = "USD"
    in_stock: bool = True
    attributes: dict[str, Any] = Field(default_factory=dict)
    image_url: str | None = None
    variants: list[Variant] = Field(default_factory=list)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> str:
        if value is None or str(value).strip() == "":
            raise ValueError("product id is missing")
        return str(value).strip()

    @field_validator("title")
    @classmethod
    def _title_present(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("product title is empty")
        return value.strip()

    def content_hash(self) -> str:
        """Stable digest of everything stored for the product; unchanged products are not re-embedded."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    def embedding_text(self) -> str:
        """The text the dense index embeds: what a shopper would search by."""
        parts = [self.title]
        if self.brand and self.brand.lower() not in self.title.lower():
            parts.append(self.brand)
        if self.category:
            parts.append(self.category)
        if self.description:
            parts.append(self.description)
        return ". ".join(parts)


class RejectedRow(BaseModel):
    """A source row that could not become a product, reported and skipped."""

    row: int
    error: str
