"""The store's domain objects, in the shape of the retail-store folder format (`users.json`, `orders.json`,
`products.json`). Field names follow the source files so an import and an export are lossless."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

# Statuses an order can have. The first four come from the source data; the others are what the store's actions
# leave behind (names as in tau-bench retail, whose data and policy the store follows).
PENDING = "pending"
PROCESSED = "processed"
DELIVERED = "delivered"
CANCELLED = "cancelled"
PENDING_ITEM_MODIFIED = "pending (item modified)"
RETURN_REQUESTED = "return requested"
EXCHANGE_REQUESTED = "exchange requested"
ORDER_STATUSES = (
    PENDING,
    PROCESSED,
    DELIVERED,
    CANCELLED,
    PENDING_ITEM_MODIFIED,
    RETURN_REQUESTED,
    EXCHANGE_REQUESTED,
)

# How a status reads in Chinese replies; the store's own word stays in brackets, so the fact is unmistakable.
STATUS_ZH = {
    PENDING: "待处理（pending）",
    PROCESSED: "已处理（processed）",
    DELIVERED: "已送达（delivered）",
    CANCELLED: "已取消（cancelled）",
    PENDING_ITEM_MODIFIED: "待处理，商品已修改（pending (item modified)）",
    RETURN_REQUESTED: "已申请退货（return requested）",
    EXCHANGE_REQUESTED: "已申请换货（exchange requested）",
}

CancelReason = Literal["no longer needed", "ordered by mistake"]
CANCEL_REASONS: tuple[str, ...] = ("no longer needed", "ordered by mistake")
CANCEL_REASONS_ZH = {"no longer needed": "不再需要", "ordered by mistake": "下错单"}


class Name(BaseModel):
    first_name: str
    last_name: str

    @property
    def full(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Address(BaseModel):
    address1: str
    address2: str = ""
    city: str
    country: str
    state: str
    zip: str

    @field_validator("address1", "city", "country", "state", "zip")
    @classmethod
    def _present(cls, value: str) -> str:
        if not str(value).strip():
            raise ValueError("must not be empty")
        return str(value).strip()

    def one_line(self) -> str:
        street = ", ".join(part for part in (self.address1, self.address2) if part)
        return f"{street}, {self.city}, {self.state} {self.zip}, {self.country}"


class PaymentMethod(BaseModel):
    """A gift card (with a balance), a PayPal account or a credit card (brand and last four digits)."""

    id: str
    source: Literal["gift_card", "paypal", "credit_card"]
    brand: str | None = None
    last_four: str | None = None
    balance: float | None = None

    def describe(self) -> str:
        if self.source == "credit_card":
            # With its id: customers who know their method by id can check it is the one meant.
            return f"{(self.brand or 'credit').title()} card ending {self.last_four} ({self.id})"
        if self.source == "gift_card":
            return f"gift card {self.id} (balance ${self.balance or 0:.2f})"
        return f"PayPal {self.id}"

    def describe_zh(self) -> str:
        if self.source == "credit_card":
            return f"尾号 {self.last_four} 的 {(self.brand or 'credit').title()} 信用卡（{self.id}）"
        if self.source == "gift_card":
            return f"礼品卡 {self.id}（余额 ${self.balance or 0:.2f}）"
        return f"PayPal {self.id}"


class User(BaseModel):
    user_id: str
    name: Name
    address: Address
    email: str
    payment_methods: dict[str, PaymentMethod] = Field(default_factory=dict)
    orders: list[str] = Field(default_factory=list)


class OrderItem(BaseModel):
    name: str
    product_id: str
    item_id: str
    price: float
    options: dict[str, str] = Field(default_factory=dict)


class Fulfillment(BaseModel):
    tracking_id: list[str] = Field(default_factory=list)
    item_ids: list[str] = Field(default_factory=list)


class Transaction(BaseModel):
    transaction_type: Literal["payment", "refund"]
    amount: float
    payment_method_id: str


class Order(BaseModel):
    order_id: str
    user_id: str
    address: Address
    items: list[OrderItem]
    fulfillments: list[Fulfillment] = Field(default_factory=list)
    status: str
    payment_history: list[Transaction] = Field(default_factory=list)
    # Set by the store's actions, as in tau-bench retail.
    cancel_reason: str | None = None
    return_items: list[str] | None = None
    return_payment_method_id: str | None = None
    exchange_items: list[str] | None = None
    exchange_new_items: list[str] | None = None
    exchange_payment_method_id: str | None = None
    exchange_price_difference: float | None = None

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        if value not in ORDER_STATUSES:
            raise ValueError(f"unknown order status {value!r}")
        return value

    @property
    def total(self) -> float:
        return round(sum(item.price for item in self.items), 2)

    def net_paid(self) -> dict[str, float]:
        """What each payment method paid net of earlier refunds (a pending order whose payment method was changed
        has already refunded the first one): what a cancellation refunds, method by method."""
        net: dict[str, float] = {}
        for t in self.payment_history:
            sign = 1 if t.transaction_type == "payment" else -1
            net[t.payment_method_id] = round(net.get(t.payment_method_id, 0.0) + sign * t.amount, 2)
        return {method_id: amount for method_id, amount in net.items() if amount > 0}

    @property
    def original_payment_method_id(self) -> str | None:
        payments = [t for t in self.payment_history if t.transaction_type == "payment"]
        return payments[0].payment_method_id if payments else None


class Variant(BaseModel):
    """One item of a product type: its options, price and availability."""

    item_id: str
    options: dict[str, str] = Field(default_factory=dict)
    available: bool
    price: float


class StoreProduct(BaseModel):
    """A product type ("T-Shirt") and its variant items. `brand`, `category`, `description` and `attributes` are
    optional extensions of the format (the sample store has them; tau-bench's store does not)."""

    name: str
    product_id: str
    variants: dict[str, Variant] = Field(default_factory=dict)
    brand: str | None = None
    category: str | None = None
    description: str | None = None
    attributes: dict[str, str] | None = None


class AuditEntry(BaseModel):
    """One change to the store: who did what, when, and the record before and after."""

    id: int
    at: str
    actor: str
    action: str
    target: str
    arguments: dict[str, object]
    before: dict[str, object] | None
    after: dict[str, object] | None
