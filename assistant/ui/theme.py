"""The page's look: system fonts (no web font downloads, CJK glyphs from the OS) and the
styles of the rendered results, footnotes, chips and bars.

The stylesheet travels inside the page (``HEAD``, injected by the header component) rather
than through ``launch(css=...)``: ``gr.mount_gradio_app`` resets ``css`` and ``theme``
unless the caller passes them, and the same page must look the same mounted at "/" by the
API server and run alone by ``ui.py``. ``THEME`` (in ``mount_options()``) only saves the
first paint from Gradio's default Latin web font (about 100 KB, no Chinese glyphs);
without it the stylesheet switches to the system fonts a moment later. Nothing here is
fetched from the internet.
"""

from __future__ import annotations

import gradio as gr

FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", '
    "sans-serif"
)

THEME = gr.themes.Default(
    # gr.themes.Font quotes a name (needed for "PingFang SC"); keywords such as system-ui
    # must stay unquoted to mean the system font.
    font=[
        gr.themes.Font(name.strip('"')) if name.startswith('"') else name
        for name in (part.strip() for part in FONT_STACK.split(","))
    ],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
)

CSS = f"""
:root, .dark {{ --font: {FONT_STACK}; }}
body, .gradio-container {{ font-family: {FONT_STACK}; }}
.gradio-container {{ max-width: 980px !important; margin: 0 auto; }}
.ca-top {{ align-items: flex-end; gap: 8px; }}
.ca-header h1 {{ font-size: 1.45rem; margin: 0 0 2px; line-height: 1.3; }}
.ca-tagline {{ margin: 0 0 6px; color: var(--body-text-color-subdued); }}
.ca-disclaimer {{
  margin: 0; padding: 6px 10px; font-size: .85em; border-radius: 6px;
  border-left: 3px solid #e0a100; background: rgba(224, 161, 0, .08);
}}
.ca-lang {{ flex-grow: 0 !important; min-width: 160px !important; }}
.ca-chips {{ flex-wrap: wrap !important; gap: 6px !important; }}
.ca-chips button {{
  flex: 0 1 auto !important; min-width: 0 !important; width: auto !important;
  border-radius: 999px !important; white-space: normal; text-align: left;
}}
.ca-send {{ flex-grow: 0 !important; min-width: 72px !important; }}
.ca-cites {{ margin-top: 6px; font-size: .9em; }}
.ca-cites-title {{ margin: 4px 0; font-weight: 600; }}
.ca-cites ol.ca-cite-list {{ margin: 0; padding-left: 0; list-style: none; }}
.ca-cite summary {{ cursor: pointer; padding: 2px 0; }}
.ca-cite-n, .ca-ref {{ color: var(--color-accent); font-weight: 600; }}
.ca-snippet {{ margin: 4px 0 4px 8px; padding: 4px 10px; border-left: 3px solid #bbb; }}
.ca-cite-sec {{ margin: 0 0 6px 8px; font-size: .85em; opacity: .75; }}
.ca-result {{ overflow-wrap: anywhere; line-height: 1.55; }}
.ca-result h4 {{ margin: 14px 0 6px; }}
.ca-result ul, .ca-result ol {{ padding-left: 1.2em; margin: 4px 0; }}
.ca-headline {{ font-size: 1.08em; font-weight: 600; margin: 4px 0 8px; }}
.ca-error {{ border-left: 4px solid #c62828; background: rgba(198, 40, 40, .07);
  padding: 8px 12px; border-radius: 6px; }}
.ca-ok {{ border-left: 4px solid #2e7d32; background: rgba(46, 125, 50, .08);
  padding: 8px 12px; border-radius: 6px; }}
.ca-range-row {{ display: flex; align-items: center; gap: 8px; margin: 5px 0; }}
.ca-range-label {{ flex: 0 0 5.5em; }}
.ca-range-value {{ flex: 0 0 auto; white-space: nowrap; font-variant-numeric: tabular-nums; }}
.ca-bar {{ display: inline-block; flex: 1 1 auto; min-width: 40px; height: 10px;
  border-radius: 5px; background: rgba(128, 128, 128, .18); overflow: hidden; }}
.ca-bar > span {{ display: block; height: 100%; border-radius: 5px; background: #1e88e5; }}
.ca-bar-low > span, .ca-bar-good > span {{ background: #43a047; }}
.ca-bar-high > span, .ca-bar-bad > span {{ background: #ef6c00; }}
.ca-bar-flat > span {{ background: #90a4ae; }}
.ca-table {{ width: 100%; border-collapse: collapse; font-size: .92em; table-layout: auto; }}
.ca-table th, .ca-table td {{ padding: 6px 4px; text-align: left; vertical-align: top;
  border-bottom: 1px solid rgba(128, 128, 128, .25); }}
.ca-table td.ca-num {{ white-space: nowrap; }}
.ca-factors td.ca-num .ca-bar {{ display: block; width: 72px; margin-top: 4px; }}
.ca-tag {{ display: inline-block; padding: 0 6px; border-radius: 8px; font-size: .8em;
  background: rgba(128, 128, 128, .15); }}
.ca-tag-warn {{ background: rgba(239, 108, 0, .15); color: #b45300; }}
.ca-warnings li {{ color: #b45300; }}
.ca-note, .ca-fineprint {{ font-size: .9em; opacity: .85; }}
.ca-result ol.ca-timeline {{ list-style: none; padding-left: 0; border-left: 3px solid #90a4ae;
  margin-left: 4px; }}
.ca-timeline li {{ padding: 4px 0 4px 12px; position: relative; }}
.ca-timeline time {{ font-variant-numeric: tabular-nums; }}
.ca-left {{ display: inline-block; padding: 0 6px; border-radius: 8px; font-size: .85em;
  background: rgba(30, 136, 229, .12); }}
.ca-passed .ca-left {{ background: rgba(198, 40, 40, .14); color: #c62828; }}
.ca-soon .ca-left {{ background: rgba(239, 108, 0, .16); color: #b45300; }}
.ca-docs-grid {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr));
  gap: 4px 16px; }}
.ca-missing li {{ color: #c62828; }}
.ca-held li {{ color: #2e7d32; }}
@media (max-width: 520px) {{
  .gradio-container {{ padding-left: 6px !important; padding-right: 6px !important; }}
  .ca-header h1 {{ font-size: 1.25rem; }}
  .ca-range-label {{ flex-basis: 4.2em; }}
  #ca-tabs .tab-container button {{ padding-left: 8px; padding-right: 8px; }}
}}
"""

HEAD = f"<style>{CSS}</style>"
"""Injected into the document head by the header component (see the module docstring)."""
