"""Tokens for BM25: jieba (search mode) with the domain user dictionary.

Without the dictionary jieba cuts 信用限额 into 信用/限额 and 最高赔偿限额 into three
pieces, so a query that names the term exactly ranks below chunks that merely mention
信用. The dictionary lives in ``knowledge/terms.dict`` so the business can extend it.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import jieba

jieba.setLogLevel(logging.WARNING)

_KEEP_RE = re.compile(r"[\w\u3400-\u9fff]")
_CJK_RUN_RE = re.compile(r"[\u3400-\u9fff]{2,}")

# Bump when tokens change for the same text, so indexes rebuild their BM25.
TOKENIZER_VERSION = "3"
_LATIN_RE = re.compile(r"[a-z]+")
STOPWORDS = frozenset(
    """
    的 了 是 在 和 与 及 或 等 对 将 把 被 就 也 都 而 且 并 但 其 之 为 以 于 由 从 向 给
    我 你 他 她 它 我们 你们 他们 这 那 这个 那个 什么 怎么 怎么办 如何 吗 呢 吧 啊 呀 哦
    请问 一下 一个 可以 能 会 要 有 没有 不 没 还 又 再 很 太 多 少 个 些 么 嘛 哪 哪些
    哪个 啥 咋 怎样 怎么样 能不能 是不是 行不行 该 得 着 过 吧 呗 哈 嗯 那个 就是
    a an the of to in on at for by with from and or but is are was were be been being
    do does did i you he she it we they my your our their this that these those what
    how can could would should will shall may might must not no yes if then than so as
    """.split()  # noqa: SIM905 - a word list reads better as text
)


class Tokenizer:
    """A jieba tokenizer of our own (not the global one), loaded with the user dictionary."""

    def __init__(self, userdict: Path | None = None) -> None:
        import Stemmer

        self._jieba = jieba.Tokenizer()
        self._stemmer = Stemmer.Stemmer("english")
        self._userdict = userdict
        self._ready = False
        self._lock = threading.Lock()

    def _stem(self, word: str) -> str:
        """English words to their Snowball stem (PyStemmer): instalments -> instal."""
        return str(self._stemmer.stemWord(word))

    def _init(self) -> None:
        with self._lock:
            if self._ready:
                return
            self._jieba.initialize()
            if self._userdict is not None and self._userdict.exists():
                self._jieba.load_userdict(str(self._userdict))
            self._ready = True

    def tokens(self, text: str) -> list[str]:
        """jieba search-mode words plus CJK character bigrams, lower-cased, no stop words.

        The bigrams make keyword search forgiving where word segmentation is not: typos
        and homophones (索陪, 逾其), variants and colloquial compounds still share most
        bigrams with the right chunk. Measured with the retrieval evals (evals/README.md).
        """
        if not self._ready:
            self._init()
        text = text.lower()
        out: list[str] = []
        for tok in self._jieba.cut_for_search(text):
            tok = tok.strip()
            if tok and tok not in STOPWORDS and _KEEP_RE.search(tok):
                out.append(self._stem(tok) if _LATIN_RE.fullmatch(tok) else tok)
        for run in _CJK_RUN_RE.findall(text):
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        return out
