"""Chinese abuse: insults, slurs against groups, and sweeping negative claims about a group (race, region,
gender, religion, orientation), from lexicons and patterns this project wrote. No shipped classifier covers it.

Scores `harassment` (insults aimed at someone) and `hate` (attacks on a group), plus weaker evidence for the
semantic score to confirm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INSULTS = (
    "傻逼|傻B|煞笔|沙比|傻叉|sb|脑残|智障|弱智|白痴|蠢货|蠢猪|废物|人渣|贱人|贱货|婊子|骚货|狗东西|狗日|畜生|畜牲|"
    "王八蛋|混蛋|滚蛋|杂种|杂碎|孙子|龟孙|你妈|他妈的|妈的|尼玛|泥马|草泥马|操你|肏|日你|去死|死全家|贱种|下贱|"
    "神经病|有病吧|脑子有病|丢人现眼|不要脸|恶心死|垃圾东西|狗娘养|婊子养|舔狗|蛆|死妈|瘪三|土鳖|屌丝"
)
_SLURS = (
    "黑鬼|黑蛆|黑奴|尼哥|尼格|黑皮猪|阿三|印度阿三|棒子|高丽棒子|鬼子|小日本|日本鬼子|倭寇|白皮猪|白左|洋垃圾|"
    "绿绿|绿教|蝈蝻|普信男|直男癌|男拳|女拳|女拳师|田园女权|仙女们|娘炮|娘娘腔|母狗|基佬|死基佬|人妖|变态|"
    "蝗虫|偷井盖|乡巴佬|外地佬|北佬|南蛮|劣等民族|劣等|低等人|下等人|猴子|黑猩猩|杂交|滚回|滚出"
)
_GROUPS = (
    "黑人|白人|黄种人|亚洲人|非洲人|欧洲人|外国人|老外|洋人|日本人|韩国人|印度人|美国人|犹太人|穆斯林|回民|基督徒|"
    "女人|男人|女的|男的|女生|男生|女性|男性|女司机|女权|同性恋|gay|跨性别|残疾人|农村人|城里人|外地人|本地人|"
    "[\u4e00-\u9fa5]{1,3}(?:省|地区)?人|[\u4e00-\u9fa5]{2}佬"
)
_NEGATIVE = (
    "垃圾|素质(?:低|差|太低|太差)|低素质|没素质|骗子|小偷|贼|懒|蠢|笨|脏|臭|恶心|野蛮|落后|低等|劣等|下贱|不配|"
    "该死|去死|滚|败类|寄生虫|祸害|毒瘤|有病|神经病|变态|愚昧|无知|猪|狗|畜生|强盗|流氓|恐怖分子|罪犯|劣根性|"
    "没(?:一个)?好(?:人|东西)|不是好东西|看不起|歧视|丑|龅牙|智商低|见识短"
)

_INSULT_RE = re.compile(_INSULTS, re.IGNORECASE)
_SLUR_RE = re.compile(_SLURS)
# "<group> 都是/就是/全是 ... <negative>": a sweeping claim about a whole group.
_SWEEPING_RE = re.compile(
    rf"(?:{_GROUPS})[^，。！？,.!?\n]{{0,4}}(?:都|全|就|全都|一律|基本都|大多)[^，。！？,.!?\n]{{0,8}}(?:{_NEGATIVE})"
)
_GROUP_NEG_RE = re.compile(rf"(?:{_GROUPS})[^，。！？,.!?\n]{{0,8}}(?:{_NEGATIVE})")
_ADDRESSED_RE = re.compile(
    rf"(?:你|你们|您|客服|楼主)[^，。！？,.!?\n]{{0,6}}(?:{_INSULTS}|{_NEGATIVE})", re.IGNORECASE
)


# Words of contempt that, unlike "狗" or "小偷", rarely describe a product, a pet or a lock.
_CONTEMPT = (
    "恶心|垃圾人|素质(?:低|差)|低素质|没素质|低等|劣等|下贱|不配|该死|去死|败类|寄生虫|毒瘤|畜生|愚昧|野蛮|劣根性|"
    "智商低|见识短|看不起|丑八怪|滚出|滚回"
)
_CONTEMPT_RE = re.compile(_CONTEMPT)
_GROUP_RE = re.compile(_GROUPS)
_NEGATIVE_RE = re.compile(_NEGATIVE)


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@dataclass(frozen=True)
class ChineseAbuse:
    """`harassment` / `hate`: scores from explicit insults, slurs and sweeping claims. `evidence`: a weaker
    signal (a group mentioned next to contempt anywhere in the text, or contemptuous words alone) that is meant
    to be combined with the semantic score, not used alone. `targets_group`: the text names a group."""

    harassment: float = 0.0
    hate: float = 0.0
    evidence: float = 0.0
    targets_group: bool = False


def chinese_abuse(text: str) -> ChineseAbuse:
    if not has_chinese(text):
        return ChineseAbuse()
    harassment = 0.0
    if _INSULT_RE.search(text):
        harassment = 0.9
    elif _ADDRESSED_RE.search(text):
        harassment = 0.6
    hate = 0.0
    if _SLUR_RE.search(text) or _SWEEPING_RE.search(text) or _GROUP_NEG_RE.search(text):
        hate = 0.9
    group = bool(_GROUP_RE.search(text))
    negative = bool(_NEGATIVE_RE.search(text))
    evidence = 0.6 if group and negative else 0.3 if _CONTEMPT_RE.search(text) else 0.0
    return ChineseAbuse(harassment, hate, max(evidence, harassment, hate), group)
