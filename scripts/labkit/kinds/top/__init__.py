"""The top kind: `py-spy top` through a pseudo-terminal; its last screen as text and as a picture."""

from __future__ import annotations

from labkit import formats, registry, steptypes
from labkit.blocks import Context, named


def terminal(ctx: Context, arg: str | None) -> list[str]:
    """A captured terminal screen: the picture, and the same text for screen readers and search."""
    top = named(ctx, "tops", arg, "top")
    files = top["files"]
    title = formats.html_text(top["title"] or "py-spy top")
    text = (ctx.data_dir / files["text"]).read_text(encoding="utf-8")
    return [
        '<figure class="terminal">',
        f'<img src="{ctx.data_href}/{files["svg"]}" alt="{title}: the screen as text follows">',
        f"<figcaption>{title}, after {top['seconds']} s</figcaption>",
        "</figure>",
        "<details><summary>The same screen as text</summary>",
        # A blank line would end the HTML block in Markdown: keep the screen's empty rows non-empty.
        "<pre><code>"
        + "\n".join(formats.html_text(line) or "&#32;" for line in text.splitlines())
        + "</code></pre>",
        "</details>",
    ]


KIND = registry.register(
    registry.Kind(
        name="top",
        options=steptypes.Sampled,
        schema=registry.results_schema(__name__),
        section="tops",
        uses_spy=True,
        accepts_target=True,
        attach=lambda _step: "must",
        problem=registry.target_or_command,
        blocks={"terminal": terminal},
    )
)
