"""Prompt-injection detection by pattern families (multilingual), checked on the text and on de-obfuscated forms
of it (leetspeak, ROT13, reversed, base64), plus neutralising of injected instructions in retrieved content.

Families, not phrases: overriding earlier instructions, asking for hidden prompts or secrets, switching into an
unrestricted mode, claiming a privileged role, telling an agent to call tools or send data out, planting tokens in
the reply or memory, and staged "reasoning" that declares the rules void.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from moderation.unwrap import unwrap

_I = re.IGNORECASE | re.DOTALL

_PRIOR = (
    r"(?:all|any|every|the|your|my|these|those|previous|prior|above|earlier|preceding|initial|original|existing"
    r"|system|safety|content|default|current|of|developer|and|,)"
)
_RULES = (
    r"(?:instructions?|rules?|guidelines?|guardrails?|prompts?|directives?|polic(?:y|ies)|restrictions?"
    r"|constraints?|programming|filters?|safeguards?|commands?|directions)"
)

_FAMILIES: dict[str, list[str]] = {
    "override": [
        rf"\b(?:ignore|disregard|forget|bypass|override|abandon|neglect)\s+(?:{_PRIOR}\s*){{0,5}}{_RULES}\b",
        r"\bsupersedes?\s+(?:all\s+)?(?:prior|previous|earlier|other)\b",
        r"\b(?:your|the)\s+rules\s+have\s+(?:changed|been\s+(?:updated|lifted|removed))",
        r"\bvergiss\s+alles\b",
        r"\bneue\s+anweisungen\s*:",
        r"\b(?:ignore|disregard|forget)\s+(?:everything|anything)\s+(?:above|before|prior|previously|you\s+were)",
        rf"\b{_RULES}\s+(?:are|is)\s+(?:now\s+)?(?:void|cancelled|canceled|revoked|obsolete|lifted|disabled)",
        r"\bnew\s+(?:instructions?|rules|task|directive)\s*:",
        r"\bignorier\w*\s+(?:\w+\s+){0,3}(?:anweisungen|regeln|richtlinien|vorgaben|instruktionen)",
        r"\bvergiss\w*\s+(?:\w+\s+){0,3}(?:anweisungen|regeln|richtlinien|vorgaben)",
        r"\b(?:ignore[rz]?|oublie[rz]?)\s+(?:\w+\s+){0,3}(?:instructions|r[eè]gles|consignes|directives)",
        r"\b(?:ignora|olvida)\w*\s+(?:\w+\s+){0,3}(?:instrucciones|reglas|directrices|normas)",
        r"\b(?:ignora|dimentica)\w*\s+(?:\w+\s+){0,3}(?:istruzioni|regole|direttive)",
        r"(?:忽略|无视|忘记|忘掉|不要理会|不用管|抛开)[^。！？\n]{0,10}(?:指令|指示|规则|设定|提示|限制|政策|要求|命令)",
    ],
    "exfiltrate_prompt": [
        r"\b(?:reveal|show|print|output|repeat|tell|dump|leak|display|disclose|give|share|recite|verrate|zeige?|r[ée]v[eè]le)\w*"
        r"[\s-]+(?:\w+\s+){0,4}(?:system\s*-?\s*(?:prompt|message)|context\s+window|hidden\s+(?:instructions?|prompt)|initial\s+(?:instructions?|prompt)"
        r"|(?:your|the)\s+(?:instructions|prompt|configuration|operating\s+instructions)|api\s+keys?|credentials"
        r"|passwords?|secrets?|systemanweisungen|system-?prompt)",
        r"\b(?:repeat|print|output)\s+(?:the\s+)?(?:text|words|everything)\s+(?:above|before)",
        r"\binstructions\s+you\s+(?:were|have\s+been)\s+given\b",
        r"\b(?:internal|hidden)\s+(?:configuration|config|data)\b",
        r"\binterne(?:n)?\s+daten\b",
        r"(?:告诉我|输出|显示|泄露|打印|给我)[^。！？\n]{0,10}(?:系统提示|提示词|内部指令|系统设定|初始指令|密钥|密码)",
        r"(?:prompt\s+syst[eè]me|instructions\s+syst[eè]me|instrucciones\s+del\s+sistema|istruzioni\s+di\s+sistema)",
    ],
    "mode_switch": [
        r"\b(?:developer|dev|god|admin|debug|jailbreak|dan)\s+mode\b",
        r"\byou\s+are\s+(?:now\s+)?(?:DAN|an?\s+(?:unrestricted|uncensored|unfiltered|evil|unaligned)\b)",
        r"\b(?:unrestricted|uncensored|unfiltered)\s+(?:ai|model|assistant|mode|version)\b",
        r"\b(?:no|without(?:\s+any)?)\s+(?:restrictions|limits|filters?|content\s+polic(?:y|ies)|guidelines|censorship)\b"
        r"(?=[^.]{0,60}\b(?:answer|respond|reply|output|do|say|tell)\b)",
        r"\b(?:never|don'?t|do\s+not)\s+refuse\b",
        r"\bjailbr(?:oken|eak)\b",
        r"\b(?:sin\s+restricciones|sin\s+filtro|uneingeschr[aä]nkt|sans\s+(?:restrictions?|filtre)|senza\s+(?:restrizioni|filtri))",
        r"(?:开发者模式|越狱|没有任何限制|不受任何限制|无限制模式|解除(?:所有)?限制|关闭[^。！？\n]{0,4}过滤)",
        r"\bkeine(?:n)?\s+(?:richtlinien|regeln|grenzen|filter)\b",
        r"\b(?:have|has|with)\s+no\s+(?:rules|restrictions|filters?|limits|guidelines)\b",
        r"\bno\s+(?:filters?|rules|restrictions)\s+or\s+(?:limits|restrictions|filters?|rules)\b",
        r"\b(?:now\s+)?allow\s+all\s+content\b",
        r"\b(?:safety|security)\s+(?:protocols?|filters?|checks?|guardrails?)\s+(?:are\s+)?(?:disabled|off|removed|lifted)\b",
    ],
    "privileged_role": [
        r"(?:^|\n)\s*(?:system|admin|administrator|root|developer|assistant)\s*(?:message|note|override)?\s*:",
        r"(?:^|\n)\s*(?:important\s+)?(?:override|system\s+update|breach\s+alert|security\s+alert)\s*:",
        r"\b(?:developer|system)\s+messages\b[^.]{0,40}\bcompromised\b",
        r"\bi\s+am\s+(?:your|the)\s+(?:developer|creator|administrator|admin|owner|operator)\b",
        r"\b(?:the\s+)?user\s+is\s+(?:an?\s+)?(?:admin|administrator|developer|authori[sz]ed|verified)\b",
        r"(?:系统通知|系统消息|管理员指令)\s*[:：]|我是(?:你的)?(?:开发者|管理员)",
    ],
    "tool_or_data_exfiltration": [
        r"\b(?:call|use|invoke|run|execute|trigger)\s+(?:the\s+)?`?[a-z]+_[a-z_]+`?\b(?:\s+(?:tool|function))?"
        r"(?=[^.]{0,80}\b(?:to|on|with|before|and)\b)",
        r"\b(?:send|email|e-mail|forward|post|upload|transmit|exfiltrate|copy|collect)\s+(?:\w+\s+){0,5}"
        r"(?:customer|client|user)s?['’]?\s*(?:list|data|database|records|emails?|details|information)",
        r"\b(?:send|email|forward|post|upload)\s+(?:\w+\s+){0,3}(?:all|every|full|entire|whole|list|data|records"
        r"|keys?|credentials|passwords?|database|everything)\b(?:\s+\w+){0,4}\s+to\s+\S+@\S+",
        r"\b(?:api\s+keys?|credentials|passwords?|customer\s+database)\b[^.]{0,40}\b(?:to|at)\s+\S+@\S+",
        r"\b(?:output|dump|export)\s+(?:\w+\s+){0,3}(?:raw\s+)?(?:customer\s+)?database\b",
        r"\b(?:forward|send|post|upload|leak)\s+(?:\w+\s+){0,5}(?:data|records|information)\s+(?:externally|outside|to\s+a\s+third)",
        r"\b(?:delete|empty|wipe|erase|reset)\s+(?:\w+\s+){0,4}(?:all\s+)?(?:records|files|directory|database|output\s+directory)",
        r"(?:envoie|rassemble)\w*\s+(?:\w+\s+){0,4}(?:donn[ée]es\s+clients?|clients?)",
        r"(?:发送|转发|发到|导出)[^。！？\n]{0,12}(?:客户|用户)[^。！？\n]{0,6}(?:邮箱|数据|资料|信息|列表|名单)",
    ],
    "reply_planting": [
        r"\b(?:include|append|add|insert|put|repeat|mention|output)\s+(?:\w+\s+){0,6}"
        r"(?:token|code|canary|trace_id|doc_id|string|phrase|\{canary\})\b[^.]{0,80}"
        r"\b(?:summary|reply|replies|response|responses|answer|output)\b",
        r"\b(?:in|at\s+the\s+end\s+of)\s+(?:every|each|all|any)\s+(?:future\s+)?(?:reply|replies|response|responses|answer)",
        r"\b(?:save|store|write|remember)\s+(?:this|the\s+following)\s+(?:note|instruction|message)\s+(?:to|in)\s+(?:your\s+)?memory",
        r"\bverbatim\s+in\s+every\b",
        r"(?:doit|muss|debe|deve)\s+(?:\w+\s+){0,4}(?:ajout|angeh|añad|aggiun)\w*",
        r"\{canary\}",
    ],
    "addressed_to_agent": [
        r"\b(?:note|message|instructions?|hint|notice)\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:ai|assistant|bot|agent|llm|model)s?\b",
        r"\bif\s+you\s+are\s+an?\s+(?:ai|llm|language\s+model|assistant|agent)\b",
        r"\b(?:ai|assistant|agent|bot|llm)s?\s+(?:reading|processing|reviewing|summari[sz]ing)\s+this\b",
        r"\b(?:ai|llm|coding)\s+(?:agents?|assistants?)\s+(?:\w+\s+){0,3}(?:should|must|need\s+to|are\s+required)",
        r"\bas\s+an?\s+(?:ai\s+)?(?:agent|assistant)\s+(?:reading|reviewing|processing|summari[sz]ing)",
        r"(?:when|while)\s+(?:you\s+)?(?:read|process|summari[sz]e)\s+(?:this|the)\b[^.]{0,40}\b(?:also|must|should)\b",
        r"(?:AI|人工智能|助手)[^。！？\n]{0,6}(?:必须|应该|务必)",
    ],
    "obfuscated_payload": [
        r"\b(?:decode|translate|convert|deobfuscate|unscramble)\b[^.]{0,60}\b(?:and|then)\s+(?:\w+\s+){0,2}"
        r"(?:follow|do|execute|run|obey|carry\s+out|perform)\b",
        r"\b(?:do|follow|execute)\s+(?:exactly\s+)?what\s+it\s+says\b",
    ],
    "rules_declared_void": [
        r"\b(?:safety|security|content)\s+(?:rules|guidelines|checks|polic(?:y|ies)|filters?)\s+(?:do\s+not|don'?t|no\s+longer|does\s+not|doesn'?t)\s+apply",
        r"\b(?:disregard|ignore|bypass)\s+(?:the\s+)?(?:content|safety|usage)\s+polic",
        r"\b(?:safety|security)\s+(?:rules|guidelines|checks|polic(?:y|ies))\s+(?:were|was|are|is)\s+not\s+(?:meant|intended)",
        r"\bexempt\s+from\s+(?:the\s+)?(?:usual|normal|standard)?\s*(?:restrictions|rules|policies|guidelines)",
        r"\b(?:permission|authori[sz]ed|allowed)\s+to\s+(?:skip|bypass|ignore|disable)\s+(?:all\s+)?(?:safety|security)",
        r"\b(?:skip|bypass|disable)\s+(?:all\s+)?(?:safety|security)\s+(?:checks|filters|guardrails|rules)",
        r"(?:r[eè]gles\s+de\s+s[ée]curit[ée]\s+ne\s+s['’]appliquent\s+pas|reglas\s+de\s+seguridad\s+no\s+aplican"
        r"|sicherheitsrichtlinien\s+(?:\w+\s+){0,2}nicht\s+gelten|regole\s+di\s+sicurezza\s+non\s+si\s+applicano)",
        r"(?:安全规则|安全限制|内容政策)[^。！？\n]{0,6}(?:不适用|无效|失效)",
    ],
}

# Retrieved text (a product description, a policy) is the store's data, never a message to the assistant: text in it
# that speaks to the assistant about the customer, or sends the customer's money elsewhere, was planted.
_RETRIEVED_FAMILIES: dict[str, list[str]] = {
    "relayed_instruction": [
        r"\b(?:tell|instruct|ask|advise|inform|direct|urge)\s+(?:the\s+|all\s+|any\s+|every\s+|our\s+)?"
        r"(?:customers?|users?|shoppers?|buyers?|clients?|visitors?)\s+(?:to|that)\b",
    ],
    "payment_redirect": [
        r"\bbc1[ac-hj-np-z02-9]{11,71}\b|\b[13][a-km-zA-HJ-NP-Z1-9]{25,34}\b|\b0x[a-fA-F0-9]{40}\b",
        r"\b(?:bitcoin|btc|ethereum|eth|crypto(?:currency)?|usdt|tether|wallet)\s+(?:wallet\s+)?address",
        r"\b(?:pay|send|transfer|wire|deposit)\w*\s+(?:\w+\s+){0,4}(?:to|into|via)\s+(?:\w+\s+){0,3}"
        r"(?:bitcoin|btc|ethereum|crypto(?:currency)?|usdt|tether|western\s+union|moneygram)\b",
        r"\b(?:pay|payment|send\s+money)\w*\s+(?:\w+\s+){0,3}(?:outside|off)\s+(?:of\s+)?(?:the\s+|our\s+|this\s+)?"
        r"(?:store|site|website|checkout|platform)\b",
    ],
}

# One alternation per family: one regex pass per family and variant.
_COMPILED: dict[str, re.Pattern[str]] = {
    name: re.compile("|".join(f"(?:{p})" for p in patterns), _I | re.MULTILINE) for name, patterns in _FAMILIES.items()
}
_RETRIEVED_COMPILED = {
    name: re.compile("|".join(f"(?:{p})" for p in patterns), _I) for name, patterns in _RETRIEVED_FAMILIES.items()
}
# The weaker families raise a review, not a block, on their own.
_WEIGHT = {"addressed_to_agent": 0.7}

OBFUSCATION_WINDOW = 2000
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_B32 = re.compile(r"[A-Z2-7]{16,}=*")
_B85 = re.compile(r"\S{20,}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")
_BINARY = re.compile(r"(?:[01]{8}\s?){4,}")
_MORSE = re.compile(r"(?:[.-]{1,6}\s+/?\s*){4,}[.-]{1,6}")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_SPACED = re.compile(r"\b(?:\w ){3,}\w\b")
_MORSE_CODE = {
    ".-": "a",
    "-...": "b",
    "-.-.": "c",
    "-..": "d",
    ".": "e",
    "..-.": "f",
    "--.": "g",
    "....": "h",
    "..": "i",
    ".---": "j",
    "-.-": "k",
    ".-..": "l",
    "--": "m",
    "-.": "n",
    "---": "o",
    ".--.": "p",
    "--.-": "q",
    ".-.": "r",
    "...": "s",
    "-": "t",
    "..-": "u",
    "...-": "v",
    ".--": "w",
    "-..-": "x",
    "-.--": "y",
    "--..": "z",
}


@dataclass(frozen=True, order=True)
class InjectionResult:
    score: float
    families: tuple[str, ...]


def _text_or_none(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() and sum(c.isalpha() for c in text) >= len(text) / 2 else None


def _decode_tokens(pattern: re.Pattern[str], text: str, decode: Callable[[str], bytes]) -> list[str]:
    out = []
    for token in pattern.findall(text):
        try:
            decoded = _text_or_none(decode(token))
        except (binascii.Error, ValueError):
            continue
        if decoded:
            out.append(decoded)
    return out


def _morse(token: str) -> bytes:
    words = re.split(r"\s*/\s*", token.strip())
    return " ".join("".join(_MORSE_CODE.get(ch, "") for ch in w.split()) for w in words).encode()


def _variants(text: str) -> list[str]:
    """The text and the forms an attacker hides it in; each is checked with the same patterns."""
    plain = urllib.parse.unquote(text)
    plain = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), plain)
    # Unicode "tag" characters (U+E0000 block) mirror ASCII invisibly.
    plain = "".join(chr(ord(c) - 0xE0000) if 0xE0020 <= ord(c) <= 0xE007E else c for c in plain)
    plain = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), plain)
    # Obfuscated forms of a long text are checked on its head only: each variant costs a full pass of every family.
    head = plain[:OBFUSCATION_WINDOW]
    variants = [plain, head.translate(_LEET), codecs.decode(head, "rot13"), head[::-1]]
    variants += _decode_tokens(_B64, text, lambda t: base64.b64decode(t + "=" * (-len(t) % 4), validate=True))
    variants += _decode_tokens(_B32, text, lambda t: base64.b32decode(t + "=" * (-len(t) % 8)))
    variants += _decode_tokens(_HEX, text, bytes.fromhex)
    variants += _decode_tokens(_BINARY, text, lambda t: bytes(int(b, 2) for b in t.split()))
    variants += _decode_tokens(_MORSE, text, _morse)
    if "<~" in text:
        variants += _decode_tokens(re.compile(r"<~.+?~>", re.DOTALL), text, lambda t: base64.a85decode(t, adobe=True))
    variants += _decode_tokens(_B85, text, base64.b85decode)
    return variants


def detect_injection(text: str) -> InjectionResult:
    hits: list[str] = []
    for variant in _variants(text):
        for name, patterns in _COMPILED.items():
            if name not in hits and patterns.search(variant):
                hits.append(name)
    if not hits:
        return InjectionResult(0.0, ())
    score = 0.97 if any(h not in _WEIGHT for h in hits) else max(_WEIGHT[h] for h in hits)
    return InjectionResult(score, tuple(hits))


def detect_in_retrieved(text: str) -> InjectionResult:
    """`detect_injection` for retrieved content, on its readable words too, plus what only planted data says."""
    readable = unwrap(text).text
    found = detect_injection(text) if readable == text else max(detect_injection(text), detect_injection(readable))
    planted = tuple(name for name, pattern in _RETRIEVED_COMPILED.items() if pattern.search(readable))
    if not planted:
        return found
    return InjectionResult(0.97, found.families + planted)


def neutralise(text: str) -> str:
    """Retrieved content for the prompt: sentences that carry an instruction are replaced by a marker, so the
    model sees that something was removed but not the instruction itself."""
    parts = re.split(r"(?<=[.!?。！？\n])\s*", text)
    kept = ["[instruction removed]" if part.strip() and detect_in_retrieved(part).score > 0 else part for part in parts]
    return " ".join(p for p in kept if p)
