"""PII masking with typed placeholders, checksums, and restoring the user's own values."""

from __future__ import annotations

import pytest

from moderation.moderator import Moderator
from moderation.pii import PiiMap, cn_id_valid, find_pii, luhn_valid, mask_pii


def test_each_kind_is_masked_and_restored() -> None:
    text = (
        "I'm jane.doe@example.com, call +1 415-555-0132 or 13812345678. Card 4111 1111 1111 1111, "
        "ID 11010519491231002X, ship to 221 Baker Street, Apt 4. 寄到北京市朝阳区建国路88号3栋1201室"
    )
    masked, pii_map = mask_pii(text)
    for placeholder in (
        "[EMAIL_1]",
        "[PHONE_1]",
        "[PHONE_2]",
        "[CARD_1]",
        "[ID_NUMBER_1]",
        "[ADDRESS_1]",
        "[ADDRESS_2]",
    ):
        assert placeholder in masked, masked
    for secret in ("jane.doe", "4111", "13812345678", "11010519491231002X", "Baker", "建国路"):
        assert secret not in masked
    assert pii_map.restore(masked) == text
    assert pii_map.kinds() == {"EMAIL", "PHONE", "CARD", "ID_NUMBER", "ADDRESS"}


def test_checksums_keep_look_alikes_unmasked() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert cn_id_valid("11010519491231002X") and not cn_id_valid("110105194912310021")
    text = "Card 4111111111111112, ID 110105194912310021, order #W2611340, SKU 9780134685991, price $1,299.99"
    assert mask_pii(text)[0] == text


def test_digit_runs_inside_identifiers_are_not_pii() -> None:
    # Request ids and SKUs are hex or alphanumeric tokens; a phone-shaped run inside one is not a phone number.
    for text in ("request 9f3a13812345678bc0e1 failed", "sku AB4111111111111111Z", "id x110105194912310021y"):
        assert mask_pii(text)[0] == text, text
    assert mask_pii("电话13812345678")[0] == "电话[PHONE_1]"


def test_map_keeps_placeholders_stable_across_turns() -> None:
    pii_map = PiiMap()
    first, _ = mask_pii("my email is a.b@shop.example", pii_map)
    second, _ = mask_pii("again: a.b@shop.example, and c@d.example", pii_map)
    assert first.endswith("[EMAIL_1]")
    assert second == "again: [EMAIL_1], and [EMAIL_2]"
    # A reply written with placeholders gets the user's values back; store tools get real arguments.
    assert pii_map.restore("I sent it to [EMAIL_1].") == "I sent it to a.b@shop.example."
    assert pii_map.restore("[EMAIL_9] is unknown") == "[EMAIL_9] is unknown"


def test_spans_do_not_overlap() -> None:
    spans = find_pii("ID 11010519491231002X and card 5555 5555 5555 4444")
    assert [s.kind for s in spans] == ["ID_NUMBER", "CARD"]


def test_verdict_carries_redacted_text_and_pii_score(text_moderator: Moderator) -> None:
    verdict = text_moderator.check_text("Where is my order? My email is jane@example.com")
    assert verdict.redacted_text == "Where is my order? My email is [EMAIL_1]"
    assert verdict.categories["pii"] == 1.0
    assert "pii" in verdict.flags
    assert verdict.decision == "allow"  # PII is masked, not refused


@pytest.mark.timeout(60)
def test_long_text_without_pii_does_not_hang() -> None:
    # A backtracking address pattern once took minutes on this input (a hang guard, not a speed target).
    text = "北京市朝阳区建国路" * 5000 + "1234 " * 20000
    masked, pii_map = mask_pii(text)
    assert masked == text and not pii_map


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("my cvv is 734, exp: 04/2027", "my cvv is [CVV_1], exp: [EXPIRY_1]"),
        ("Security code 9876. Valid thru 12/28", "Security code [CVV_1]. Valid thru [EXPIRY_1]"),
        ("card 4111 1111 1111 1111 04/27 734 thanks", "card [CARD_1] [EXPIRY_1] [CVV_1] thanks"),
        ("4111-1111-1111-1111, 04/27, 734", "[CARD_1], [EXPIRY_1], [CVV_1]"),
        ("安全码 456 有效期 05/28", "安全码 [CVV_1] 有效期 [EXPIRY_1]"),
    ],
)
def test_security_codes_and_expiry_dates_with_card_context_are_masked(text: str, masked: str) -> None:
    assert mask_pii(text)[0] == masked


@pytest.mark.parametrize(
    "text",
    ["I have 123 apples", "order 1234 arrives 04/27", "cvv: 4111 1111 1111 1111 is my card", "exp 04/27/2025"],
)
def test_numbers_without_card_context_are_not_security_codes(text: str) -> None:
    kinds = {span.kind for span in find_pii(text)}
    assert not kinds & {"CVV", "EXPIRY"}, (text, kinds)


def test_a_stored_map_gives_no_payment_data_back() -> None:
    masked, pii_map = mask_pii("card 4111 1111 1111 1111 exp 04/27 cvv 734, mail mia@example.com")
    assert pii_map.restore(masked).startswith("card 4111")  # within the turn, the customer's own words
    assert pii_map.storable() == {
        "[CARD_1]": "•••• 1111",
        "[EXPIRY_1]": "•••",
        "[CVV_1]": "•••",
        "[EMAIL_1]": "mia@example.com",
    }


def test_a_security_code_is_not_cut_out_of_an_order_number() -> None:
    masked, _ = mask_pii("cvv 734 for order #W7345678")
    assert masked == "cvv [CVV_1] for order #W7345678"
