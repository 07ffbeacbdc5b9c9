"""The Gradio UI as a visitor gets it: page weight of "/" and time to first token.

Starts the real server (``python server.py``, the UI mounted at "/") over the live index
in ``data/`` with a throw-away database, then drives it with Playwright and the system
chromium (``CHROMIUM_PATH`` or ``chromium`` on PATH):

- page weight: a fresh browser context (empty cache) opens "/" and waits until the chat's
  example questions are shown; every finished request is counted with its transferred
  size (headers + encoded body, from the browser's own accounting) and its decoded size;
- time to first token: a question is typed and sent; the clock starts in the page right
  before the send button's click and stops when the answer's first text is on screen
  (first token) and when Gradio marks the turn finished (complete answer). Each question
  starts a new chat, so the page does not grow from run to run. The first question is a
  warm-up and reported on its own.

The browser shares the 2 cores with the server, so the figures are a ceiling for a
visitor on their own machine.

    python benchmarks/ui_bench.py [--rounds 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _server import free_port, pct, start_server, wait_ready  # noqa: E402

from assistant.i18n import t  # noqa: E402

QUESTIONS = [
    "逾期申报期限是多久？",
    "信用保险保什么、不保什么？",
    "买家破产了要准备什么材料？",
    "DSO 怎么算？",
    "索赔期限是多久？",
    "赔偿比例是多少？",
    "什么是最长延展期？",
    "现金比率多少算健康？",
    "客户拖欠货款怎么催收？",
    "信用限额怎么申请？",
    "等待期是多久？",
]

START = """() => {
  const chat = document.querySelector('#ca-chat');
  const tracker = chat.querySelector('[data-testid=status-tracker]');
  const before = chat.querySelectorAll('.message.bot').length;
  const t = window.__turn = {start: 0, first: null, done: null, busy: false};
  const seen = new MutationObserver(() => {
    const bots = chat.querySelectorAll('.message.bot');
    const last = bots[bots.length - 1];
    if (t.first === null && bots.length > before && last.innerText.trim().length > 0) {
      t.first = performance.now();
    }
    const hidden = tracker.classList.contains('hide');
    if (!hidden) t.busy = true;
    if (hidden && t.busy && t.first !== null && t.done === null) t.done = performance.now();
  });
  seen.observe(chat, {subtree: true, childList: true, characterData: true, attributes: true});
  t.start = performance.now();
  document.querySelector('#ca-send').click();
}"""


def page_weight(browser: Any, url: str) -> dict[str, Any]:
    """First load of "/" in an empty cache, until the example questions are shown."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    finished: list[Any] = []
    page.on("requestfinished", lambda request: finished.append(request))
    t0 = time.perf_counter()
    page.goto(url + "/")
    page.wait_for_selector("#ca-chat .examples button", timeout=120_000)
    ready_s = time.perf_counter() - t0
    page.wait_for_timeout(1500)  # late requests (fonts, icons) after first paint
    by_type: dict[str, dict[str, int]] = defaultdict(lambda: {"requests": 0, "bytes": 0})
    transferred = decoded = 0
    hosts: set[str] = set()
    for request in finished:
        sizes = request.sizes()
        size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        response = request.response()
        body = 0
        if response is not None:
            try:
                body = len(response.body())
            except Exception:  # a streamed response (queue heartbeat) has no body to read
                body = 0
        transferred += size
        decoded += body
        by_type[request.resource_type]["requests"] += 1
        by_type[request.resource_type]["bytes"] += size
        hosts.add(request.url.split("/")[2])
    context.close()
    return {
        "requests": len(finished),
        "transferred_kb": round(transferred / 1024, 1),
        "decoded_kb": round(decoded / 1024, 1),
        "ready_s": round(ready_s, 2),
        "hosts": sorted(hosts),
        "by_type": {
            k: {"requests": v["requests"], "kb": round(v["bytes"] / 1024, 1)}
            for k, v in sorted(by_type.items(), key=lambda kv: -kv[1]["bytes"])
        },
    }


def ask(page: Any, question: str) -> dict[str, float]:
    page.locator("#ca-input textarea").fill(question)
    page.evaluate(START)
    page.wait_for_function("window.__turn.done !== null", timeout=120_000)
    turn = page.evaluate("window.__turn")
    # Start over, so every question meets the same (empty) page.
    page.get_by_role("button", name=t("zh", "ui.chat.new"), exact=True).click()
    page.wait_for_function("document.querySelectorAll('#ca-chat .message').length === 0")
    return {
        "first_token_ms": round(turn["first"] - turn["start"], 1),
        "complete_ms": round(turn["done"] - turn["start"], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1, help="times through the questions")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium not found (apt-get install chromium, or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(Path(tmp), port, SERVE_UI="true")
        try:
            startup = wait_ready(url, proc)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
                )
                weight = page_weight(browser, url)
                context = browser.new_context(viewport={"width": 1100, "height": 900})
                page = context.new_page()
                page.goto(url + "/")
                page.wait_for_selector("#ca-chat .examples button", timeout=120_000)
                warm_up = ask(page, QUESTIONS[0])
                turns = [ask(page, q) for _ in range(args.rounds) for q in QUESTIONS[1:]]
                context.close()
                browser.close()
        finally:
            proc.terminate()
            proc.wait(30)

    first = [t["first_token_ms"] for t in turns]
    done = [t["complete_ms"] for t in turns]
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "startup_to_ready_s": round(startup, 1),
        "page": weight,
        "questions": len(turns),
        "warm_up": warm_up,
        "first_token_ms": {"p50": round(statistics.median(first), 1), "p95": pct(first, 0.95)},
        "complete_ms": {"p50": round(statistics.median(done), 1), "p95": pct(done, 0.95)},
        "turns": turns,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"server ready in {result['startup_to_ready_s']} s")
    print(
        f'page weight of "/": {weight["requests"]} requests, {weight["transferred_kb"]} KB '
        f"transferred ({weight['decoded_kb']} KB decoded), shown in {weight['ready_s']} s; "
        f"hosts: {', '.join(weight['hosts'])}"
    )
    print(f"{'type':<12} {'requests':>8} {'KB':>9}")
    for kind, row in weight["by_type"].items():
        print(f"{kind:<12} {row['requests']:>8} {row['kb']:>9}")
    print(
        f"warm-up question: first token {warm_up['first_token_ms']} ms, "
        f"complete {warm_up['complete_ms']} ms"
    )
    print(f"{'over ' + str(len(turns)) + ' questions':<22} {'p50 ms':>8} {'p95 ms':>8}")
    for name, row in (
        ("first token", result["first_token_ms"]),
        ("complete answer", result["complete_ms"]),
    ):
        print(f"{name:<22} {row['p50']:>8} {row['p95']:>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
