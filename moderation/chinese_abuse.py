"""Chinese abuse: insults, slurs against groups, and sweeping negative claims about a group (race, region,
gender, religion, orientation), from lexicons and patterns this project wrote, confirmed by the probability of the
Chinese-only offence head (`chinese_offence.py`), which the caller computes and passes in. No shipped classifier
covers Chinese abuse.

Scores `harassment` (insults aimed at someone), `hate` (attacks on a group) and `offence` (head and lexicons
together).
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
# Places and peoples that COLD-style attacks name, joined with 人 ("河南人", "印度人"): an explicit list, because a
# generic "<any two characters>人" also matches "骗人", "成人", "别人".
_PEOPLES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|贵州|"
    "云南|陕西|甘肃|青海|台湾|内蒙古?|广西|西藏|宁夏|新疆|香港|澳门|东北|西北|华北|华南|江浙|江南|苏北|苏南|南方|北方|"
    "沿海|内地|大陆|潮汕|温州|深圳|广州|杭州|南京|武汉|成都|长沙|西安|郑州|青岛|大连|沈阳|哈尔滨|苏州|厦门|东莞|莆田|"
    "驻马店|外地|本地|农村|乡下|城里|山区|中国|美国|日本|韩国|朝鲜|印度|巴基斯坦|越南|泰国|菲律宾|印尼|马来西亚|"
    "新加坡|俄罗斯|英国|法国|德国|意大利|非洲|欧洲|亚洲|东南亚|南亚|中东|阿拉伯|以色列|犹太|墨西哥|巴西|澳洲|加拿大|"
    "外国|黑|白|黄种|黑种|白种|汉|回|藏|维吾尔|蒙古|少数民族|残疾|穷|有钱|城市|上等|下等|低等"
)
_GROUPS = (
    rf"(?:{_PEOPLES})人|老外|洋人|鬼佬|[亚非华拉]裔|拉丁裔|少数民族|[汉回藏维满苗壮]族|犹太|穆斯林|回民|基督徒|"
    "女人|男人|女的|男的|女生|男生|女孩|男孩|女性|男性|妇女|女士|男士|女司机|女权|男权|国男|国女|中国男|中国女|直男|"
    "仙女|妹子|同性恋|男同|女同|gay|拉拉|跨性别|双性恋|LGBT|[\u4e00-\u9fa5]{2}佬"
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
# A text about people: a named group, or any 人 ("这种人", "有些地方的人", "外地来的人"), which lists cannot
# enumerate. Only a gate: it decides whether the offence head's score counts as hate (measured on the inspected
# half of COLD: the named groups alone, or with "这种/有些…人" phrases, gave lower F1 than any 人).
_ABOUT_PEOPLE_RE = re.compile(rf"{_GROUPS}|人")
_NEGATIVE_RE = re.compile(_NEGATIVE)


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@dataclass(frozen=True)
class ChineseAbuse:
    """`harassment` / `hate`: scores from explicit insults, slurs and sweeping claims, and `hate` also from the
    offence head when the text is about people. `targets_group`: the text names a group or speaks of people (人).
    `offence`: the offence head and the lexicon evidence together, on every Chinese text (None for other text)."""

    harassment: float = 0.0
    hate: float = 0.0
    targets_group: bool = False
    offence: float | None = None


def chinese_abuse(text: str, offence_probability: float = 0.0) -> ChineseAbuse:
    """`offence_probability`: the Chinese offence head's P(offensive) for `text` (0 when lexicons alone judge)."""
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
    group = bool(_ABOUT_PEOPLE_RE.search(text))
    negative = bool(_NEGATIVE_RE.search(text))
    # Weak lexicon evidence (a group next to contempt, contemptuous words alone, a bare mention of people) is never
    # used alone: the offence head and it confirm each other (noisy-OR).
    evidence = 0.6 if group and negative else 0.3 if _CONTEMPT_RE.search(text) else 0.05 if group else 0.0
    evidence = max(evidence, harassment, hate)
    offence = 1.0 - (1.0 - offence_probability) * (1.0 - evidence)
    # It counts as hate only for texts about people: alone on every Chinese text it also raised angry complaints
    # about parcels past the review threshold.
    if group:
        hate = max(hate, offence)
    return ChineseAbuse(harassment, hate, group, offence)
