"""Spam signals: the marks of bulk promotional and scam messages (prizes, premium numbers, short codes, links,
pressure, opt-out boilerplate), in English and Chinese, combined into one score with hand-set weights.

The weights were set by hand from what such messages are known to contain; they were not fitted to a data set.
"""

from __future__ import annotations

import math
import re

_I = re.IGNORECASE

# (pattern, weight): evidence adds up; a single ordinary word never reaches the threshold on its own.
_SIGNALS: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(p, _I), w)
    for p, w in (
        (r"\b0[89]\d{8,10}\b|\b0\d{3}\s?\d{3}\s?\d{4}\b", 2.2),  # premium-rate / hotline numbers
        (r"\b(?:txt|text|send|reply|sms)\b[^.\n]{0,30}\b\d{4,6}\b", 1.8),  # short codes
        (r"\b\d{4,6}\b[^.\n]{0,10}\b(?:txt|text|reply)\b", 1.0),
        (r"[£€$]\s?\d[\d,]*|\b\d+\s?(?:p|ppm|pence)\b(?:\s?(?:/|per)\s?(?:min|msg|wk|week))?", 1.2),
        (r"\b(?:won|win|winner|winning|prize|award(?:ed)?|reward|jackpot|lottery|bonus|voucher|cash)\b", 1.3),
        (r"\b(?:claim|collect|redeem)\b", 1.2),
        (r"\b(?:urgent|guaranteed|congratulations|congrats|selected|exclusive|limited\s+time|act\s+now)\b", 1.1),
        (r"\bfree(?:msg|phone|fone|call)?\b|\bfree(?=[A-Z>])", 0.9),
        (r"\b(?:mobile|handset|network|line\s?rental|camera\s?phone|tariff|premium|polyphonic|video\s?phone)s?\b", 0.8),
        (r"\b(?:offers?|deal|latest|update\s+(?:to|now)|upgrade|half\s+price|deluxe)\b", 0.5),
        (r"\b(?:u|ur|2|4|b4|txts?|msgs?|pls|cust)\b", 0.4),
        (r"\b(?:call|reply|text|txt|send)\b", 0.5),
        (r"\b(?:call|ring|dial)\s+(?:now|today|\d)", 1.2),
        (r"\bT\s?&\s?Cs?\b|\bT\s?Cs\b|\bterms\s+(?:and|&)\s+conditions\b|\bPO\s?Box\s?\d+", 1.6),
        (r"\b(?:txt|text|reply|send)\s+(?:stop|end|yes|no|win|now)\b|\bopt[\s-]?out\b|\bunsubscribe\b", 1.6),
        (r"\b(?:ringtone|tones?|wallpaper|chat\s?line|dating|singles|mins?\b.{0,10}\btxts?)\b", 1.0),
        (r"https?://|www\.|\b[\w-]+\.(?:com|net|biz|info|co\.uk|top|xyz|cn)\b|bit\.ly", 1.2),
        (r"\b(?:landline|valid\s+\d+\s?hrs?|18\+|\d+\s?days?\s+only|expires?)\b", 1.2),
        (r"\b(?:loan|credit\s+check|investment|double\s+your|earn\s+\$?\d|work\s+from\s+home|crypto|casino)\b", 1.2),
        (r"\b(?:subscribe|followers|likes|giveaway|discount\s+code|promo\s+code)\b", 0.8),
        (r"(?:中奖|大奖|领取|彩金|兑奖|奖金|红包)", 1.6),
        (r"(?:兼职|刷单|日赚|月入|稳赚|炒币|贷款|无抵押|代开|办证|赌场|博彩)", 2.0),
        (r"(?:加微信|加V|加QQ|加我|扫码|点击链接|点击下方|转发)", 1.4),
        (r"(?:免费|限时|抢购|一折|优惠|特价)", 0.6),
        (r"(?:账户(?:存在)?异常|将被冻结|验证身份)", 1.2),
    )
)
_BIAS = 2.9


def spam_score(text: str) -> float:
    evidence = sum(w for pattern, w in _SIGNALS if pattern.search(text))
    letters = [c for c in text if c.isalpha() and c.isascii()]
    if len(letters) >= 20 and sum(c.isupper() for c in letters) / len(letters) > 0.5:
        evidence += 0.8  # shouting
    if text.count("!") >= 3 or "！！" in text:
        evidence += 0.5
    return 1.0 / (1.0 + math.exp(-(evidence - _BIAS)))
