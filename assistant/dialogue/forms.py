"""The forms grounded mode fills over several turns, one per tool.

A form lists its fields (with the cue words that bind a number to them), which fields are
required before the tool runs, and the order in which missing ones are asked, at most two
per turn. Field names equal the tool input names, so a filled form is the tool's input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from assistant.dialogue import vocabulary
from assistant.dialogue.slots import SlotSpec, extract

MONEY_SALES = r"销售|营收|营业|流水|赊销|收入|年销|出货|货值|做了|一年做|规模|sales|turnover|revenue|sell|on credit"
RECEIVABLES = (
    r"应收|应收账款|欠款余额|未收|receivables?|accounts receivable|\bA/?R\b|debtors|outstanding|"
    r"owed to us"
)


@dataclass(frozen=True)
class Form:
    name: str  # the tool
    slots: list[SlotSpec]
    required: list[str]

    def missing(self, filled: dict[str, object]) -> list[str]:
        return [n for n in self.required if filled.get(n) in (None, "", [])]

    def kind(self, slot: str) -> str:
        return next(s.kind for s in self.slots if s.name == slot)


QUOTE = Form(
    "estimate_premium",
    [
        SlotSpec(
            "bad_debt_losses_3y",
            "money",
            r"坏账|损失|没收回|收不回|烂账|呆账|核销|坏了|坏掉|bad debts?|loss(es)?|written off|"
            r"write-?offs?",
        ),
        SlotSpec("annual_credit_sales", "money", MONEY_SALES, default=True),
        SlotSpec(
            "max_credit_days",
            "days",
            r"最长|最多|最久|给到|放到|个别|有些|有的|部分|\bmax|maximum|longest|up to|some (buyers|customers)|a few",
        ),
        SlotSpec(
            "avg_credit_days",
            "days",
            r"账期|月结|赊销期|付款期|信用期|回款期|结算期|一般|平均|通常|terms|\bnet\b|credit period|"
            r"payment period|pay (in|within|after)|average|usually|typically",
            default=True,
        ),
        SlotSpec(
            "buyer_count", "count", r"客户|买家|买方|下游|经销商|buyers?|customers?", default=True
        ),
        SlotSpec(
            "indemnity_pct",
            "pct",
            r"赔偿比例|赔付比例|赔付|赔偿|保障比例|保障|保\s*\d|indemnity|\bcover(ed)?\b|coverage",
        ),
        SlotSpec(
            "credit_share_pct",
            "pct",
            r"赊销[^，,。\d]{0,4}(占|是|有|大概|约)|(on credit|credit sales?)[^,.\d]{0,12}",
        ),
        SlotSpec(
            "largest_buyer_share_pct",
            "pct",
            r"最大|最多|大客户|大头|占比|占|集中|第一大|largest|biggest|big (one|customer|client|buyer)|top|share|"
            r"accounts? for",
            default=True,
        ),
    ],
    required=["annual_credit_sales"],
)
# Answer first: a quote runs on the sales figure alone. These fields, when not given,
# are assumed (the "other industries" range, rating.yaml's default terms), named in the
# quote, and invited; a later message carrying one re-runs the quote.
QUOTE_REFINE = ["industry", "avg_credit_days"]


def claim_form(cause: str | None) -> Form:
    """Dates bind by cue; an un-cued date is the event date for insolvency, else the due date."""
    insolvency = cause == "insolvency"
    return Form(
        "claim_checklist",
        [
            SlotSpec(
                "judgment_on",
                "date",
                r"判决|裁决|仲裁|判了|调解书|生效|judg(e)?ment|award|ruling|court decision|"
                r"(became |becomes |took |is |was )?effective|in force",
            ),
            SlotSpec(
                "reported_on",
                "date",
                r"申报|报了|报的|报过|通知(了|过)?保险|reported|notified|filed the overdue|"
                r"(sent|filed|submitted|lodged) (the |an |our )?(overdue )?(notice|notification)",
            ),
            SlotSpec(
                "aware_on",
                "date",
                r"得知|知道|听说|获悉|宣告|宣布|破产|倒闭|清算|跑路|learned|heard|found out|"
                r"bankrupt|insolvent|declared|liquidat",
                default=insolvency,
            ),
            SlotSpec(
                "due_date",
                "date",
                r"到期|应付|付款日|账期到|该付|该还|发票日|due|payable|should have paid",
                default=not insolvency,
            ),
            SlotSpec(
                "amount",
                "money",
                r"欠|金额|货款|损失|未付|没付|尾款|owe|owed|owes|amount|unpaid|outstanding|invoice",
                default=True,
            ),
        ],
        required=["cause"],
    )


CALCULATORS: dict[str, Form] = {
    "dso": Form(
        "dso",
        [
            SlotSpec("receivables", "money", RECEIVABLES, default=True),
            SlotSpec("credit_sales", "money", MONEY_SALES),
            SlotSpec("credit_terms_days", "days", r"账期|月结|信用期|terms|\bnet\b"),
            SlotSpec(
                "period_days",
                "days",
                r"按|期间|统计期|周期|过去|最近|近|前|头|^\s*(以内|之内|内|里)|period|"
                r"(?<!pay )(?<!pays )(?<!paid )\bover\b|during|within|in the (last|past)|"
                r"\b(last|past)\b|based on",
            ),
        ],
        required=["receivables", "credit_sales"],
    ),
    "liquidity": Form(
        "liquidity",
        [
            SlotSpec(
                "current_liabilities",
                "money",
                r"流动负债|短期负债|短期借款|current liabilities|short-term liabilities",
            ),
            SlotSpec("current_assets", "money", r"流动资产|current assets"),
            SlotSpec(
                "marketable_securities",
                "money",
                r"理财|基金|货币基金|定存|定期|到期的|有价证券|短期投资|交易性金融|marketable|securities|investments|"
                r"money market",
            ),
            SlotSpec(
                "cash", "money", r"现金|货币资金|银行存款|存款|账上|cash|in the bank", default=True
            ),
        ],
        required=["cash", "current_liabilities"],
    ),
    "recovery_sales": Form(
        "recovery_sales",
        [
            SlotSpec(
                "bad_debt",
                "money",
                r"坏账|损失|收不回|烂账|bad debt|loss|written off",
                default=True,
            ),
            SlotSpec("margin_pct", "pct", r"毛利|利润|净利|利润率|margin|profit", default=True),
        ],
        required=["bad_debt", "margin_pct"],
    ),
    "payment_plan": Form(
        "payment_plan",
        [
            SlotSpec(
                "original_due_date",
                "date",
                r"原|到期|应付|原定|本来|该付|originally|due|was due",
            ),
            SlotSpec(
                "first_date",
                "date",
                r"第一期|首期|首付|第一笔|开始|起|从|first|starting|start|from|beginning",
                default=True,
                future=True,
            ),
            SlotSpec("amount", "money", r"欠|共|总|合计|金额|货款|owe|total|amount", default=True),
            SlotSpec("instalments", "instalments", r"", default=True),
            SlotSpec("interval_days", "interval", r"", default=True),
        ],
        required=["amount", "instalments", "first_date"],
    ),
}

CALC_CUES: dict[str, re.Pattern[str]] = vocabulary.group("calculators")


def calculator_kind(text: str) -> str | None:
    """Which calculator a message is about: its cue words first, then its figures.

    Receivables and sales figures side by side ("Receivables are 350,000 and credit sales
    500,000 over 31 days") are a DSO calculation even when "DSO" is never said.
    """
    for name, pattern in CALC_CUES.items():
        if pattern.search(text):
            return name
    # Cue-bound figures only; the DSO form has no date fields, so "today" is not used.
    figures = extract(text, CALCULATORS["dso"].slots, today=date.today(), use_defaults=False)
    if "receivables" in figures and "credit_sales" in figures:
        return "dso"
    return None


# --- named entities ---------------------------------------------------------------------

CAUSES: list[tuple[str, re.Pattern[str]]] = list(vocabulary.group("causes").items())


_NEGATED = vocabulary.pattern("negated_cause")


def detect_cause(text: str) -> str | None:
    """The cause of loss a message describes; negated mentions ("没破产") do not count."""
    text = _NEGATED.sub(" ", text)
    for cause, pattern in CAUSES:
        if pattern.search(text):
            return cause
    return None


# Bare answers to "which cause?": "破产", "拖欠", "纠纷", "1"/"2"/"3" are handled by detect_cause.

PHONE_CANDIDATE = re.compile(
    r"(?:\+?86[\s-]?|0086[\s-]?)?"
    r"(?:1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|0\d{2,3}[\s)）-]?\s?\d{3,4}[\s-]?\d{4}|"
    r"[(（]0\d{2,3}[)）]\s?\d{3,4}[\s-]?\d{4})"
)
LOOSE_PHONE = re.compile(r"(?<![\d.])\+?\d[\d\s-]{6,18}\d(?![\d.])")

_TITLED = re.compile(
    r"([\u4e00-\u9fa5])(先生|女士|小姐|总|经理|老板|老师|主任)|\b((?:Mr|Ms|Mrs|Miss|Dr)\.?\s+[A-Z][a-z]+)"
)
_NAME_PATTERNS = [
    re.compile(r"(?:我姓|免贵姓)\s*([\u4e00-\u9fa5])(?:[，,。\s]|$|电话|手机)"),
    re.compile(
        r"(?:我是|我叫|叫我|称呼|姓名|联系人|名字)[:：是\s]*"
        r"([\u4e00-\u9fa5]{2,4}?(?:先生|女士|小姐|总|经理)?|[\u4e00-\u9fa5](?:先生|女士|小姐|总|经理))"
        r"(?=[，,。\s]|电话|手机|$)"
    ),
    re.compile(
        r"\b(?i:my name is|my name's|name's|name is|i am|i'm|this is|name[:：])\s+"
        r"((?:(?:Mr|Ms|Mrs|Miss|Dr)\.?\s+)?[A-Z][a-zA-Z]+(?: [A-Z][a-zA-Z]+)?)"
    ),
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
    "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
    "覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符"
    "舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司"
    "卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇"
)
_SURNAME_ONLY = re.compile(r"(?:我姓|免贵姓)\s*([\u4e00-\u9fa5])")
_NOT_NAMES = {
    "老板",
    "客户",
    "公司",
    "一家",
    "工厂",
    "外贸",
    "销售",
    "财务",
    "做",
    "想",
    "要",
    "应该是",
    "打错了",
}
_BARE_NAME = re.compile(r"^\s*([\u4e00-\u9fa5]{2,4}|[A-Z][a-z]+ [A-Z][a-z]+)\s*[，,、:：]?\s*$")
_COMPANY_RE = re.compile(
    r"([\u4e00-\u9fa5A-Za-z0-9（）()]{2,30}?"
    r"(?:有限责任公司|股份有限公司|有限公司|集团|公司|厂))|"
    r"\b(?:company|from|at|with)\s+([A-Z][\w&.\- ]{1,40}?(?:Co\.?|Ltd\.?|Inc\.?|Limited|Group|Company))",
)
# "公司是宁波海曙某某贸易", "Company is Shanghai ABC Trading": named without a legal suffix.
_COMPANY_NAMED = re.compile(
    r"(?:公司|单位|公司名字?)(?:是|叫|名叫|名称是)[:：]?\s*([\u4e00-\u9fa5A-Za-z0-9（）()]{2,30})|"
    r"\b(?i:company(?: name)? is|we are|i'm from|i am from|from)\s+((?:[A-Z][\w&.\-]*\s?){1,6})"
)


def extract_name(text: str, *, phone_span: tuple[int, int] | None = None) -> str | None:
    """A contact name: '我叫王建国', '免贵姓李', 'name's Lisa Wu', or a bare name beside
    the phone number ('张敏 15000001111')."""
    for pattern in _NAME_PATTERNS:
        m = pattern.search(text)
        if m:
            name = m.group(1).strip()
            if name and name not in _NOT_NAMES and "公司" not in name:
                # "我姓周，周海峰": the full name that follows the surname is the name.
                full = re.match(
                    rf"[，,\s]*({re.escape(name)}[\u4e00-\u9fa5]{{1,2}})(?=[，,。\s]|电话|手机|$)",
                    text[m.end(1) :],
                )
                if len(name) == 1 and full and full.group(1) not in _NOT_NAMES:
                    return full.group(1)
                return name
    for titled in _TITLED.finditer(text):
        if titled.group(3):
            return titled.group(3)
        if titled.group(1) in SURNAMES:
            return titled.group(1) + titled.group(2)  # "陈总", "王小姐"
    m2 = _SURNAME_ONLY.search(text)
    if m2:
        return m2.group(1)
    if phone_span is not None:
        rest = (text[: phone_span[0]] + " " + text[phone_span[1] :]).strip(" ，,。.、")
        rest = re.sub(r"(电话|手机|号码|手机号)[:：是]?", "", rest).strip(" ，,。.、")
        bare = _BARE_NAME.match(rest)
        if (
            bare
            and bare.group(1) not in _NOT_NAMES
            and (bare.group(1)[0] in SURNAMES or bare.group(1)[0].isupper())
        ):
            return bare.group(1)
        # "安排个人联系我吧，刘洋，电话138...": the segment right before the number.
        before = re.sub(r"(电话|手机|号码|手机号)[:：是]?\s*$", "", text[: phone_span[0]])
        segment = re.split(r"[，,。、\s]+", before.strip(" ，,。、"))[-1]
        if (
            re.fullmatch(r"[\u4e00-\u9fa5]{2,3}", segment)
            and segment[0] in SURNAMES
            and segment not in _NOT_NAMES
        ):
            return segment
    return None


def extract_company(text: str) -> str | None:
    m = _COMPANY_RE.search(text)
    if not m:
        named = _COMPANY_NAMED.search(text)
        if named:
            value = (named.group(1) or named.group(2) or "").strip(" ，,。.")
            return value if len(value) > 2 else None
        return None
    name = (m.group(1) or m.group(2) or "").strip()
    name = re.split(r"公司(?:名字?)?(?:是|叫)|我们是|我们在|我在|来自|是", name)[-1]
    return name if len(name) > 2 else None


_NEED_WORDS = list(vocabulary.group("needs").items())


def infer_need(last_tool: str | None, conversation: str) -> str:
    """The lead form's 您的需求, from the last tool used or the conversation's words."""
    if last_tool in NEED_BY_CONTEXT:
        return NEED_BY_CONTEXT[last_tool]
    for need, pattern in _NEED_WORDS:
        if pattern.search(conversation):
            return need
    return "credit_insurance"


NEED_BY_CONTEXT = {
    "estimate_premium": "credit_insurance",
    "claim_checklist": "claims",
    "dso": "receivables",
    "liquidity": "receivables",
    "recovery_sales": "receivables",
    "payment_plan": "receivables",
}
