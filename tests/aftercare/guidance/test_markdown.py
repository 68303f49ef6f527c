from html.parser import HTMLParser

from aftercare.guidance.markdown import render_markdown


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_it_renders_basic_markdown():
    assert render_markdown("Use **SPF 30+** daily") == "<p>Use <strong>SPF 30+</strong> daily</p>\n"


def test_a_script_tag_never_survives():
    html = render_markdown("Hello <script>alert(1)</script> world")
    assert "script" not in [tag for tag, _ in _tags(html)]


def test_an_event_handler_never_survives():
    html = render_markdown('<img src=x onerror="alert(1)"> and <a href="#" onclick="x()">link</a>')
    attributes = [name for _, attrs in _tags(html) for name in attrs]
    assert not [name for name in attributes if name.startswith("on")]
    assert "img" not in [tag for tag, _ in _tags(html)]


def test_a_javascript_link_is_dropped():
    for text in ["[click me](javascript:alert(1))", '<a href="javascript:alert(1)">x</a>']:
        hrefs = [attrs.get("href") or "" for tag, attrs in _tags(render_markdown(text))]
        assert not [href for href in hrefs if "javascript" in href.lower()]


def test_ordinary_links_keep_their_address_and_get_safe_rel():
    html = render_markdown("[our site](https://clinic.example/aftercare)")
    assert 'href="https://clinic.example/aftercare"' in html
    assert "noopener" in html
