//! Markdown written by people (ticket descriptions, later comments), rendered to HTML that is
//! safe to put in a page: pulldown-cmark renders, ammonia keeps only harmless tags and
//! attributes (no scripts, no event handlers, no `javascript:` links, no inline styles).

use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

/// The sanitiser's rules, made once: they are a few dozen sets and maps of tag and attribute
/// names, and every ticket read or created renders its description.
static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut rules = ammonia::Builder::default();
    rules
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into())
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tags(["input"]);
    rules
});

/// Renders `source` as CommonMark with tables, strikethrough and task lists, then sanitises.
/// Links get `rel="noopener noreferrer nofollow"`; raw HTML in the source is escaped or
/// stripped by the sanitiser, never passed through.
pub fn render(source: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut unsafe_html = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(source, options));
    SANITISER.clean(&unsafe_html).to_string()
}

/// The words of `source` without Markdown's marks, blocks joined by spaces, cut to `limit`
/// characters with an ellipsis: for notifications and e-mail subjects, where marks would show
/// as they are.
pub fn plain_excerpt(source: &str, limit: usize) -> String {
    use pulldown_cmark::{Event, TagEnd};
    let mut text = String::new();
    for event in Parser::new_ext(source, Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => text.push(' '),
            _ => {}
        }
    }
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() <= limit {
        return words;
    }
    let mut cut: String = words.chars().take(limit.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::{plain_excerpt, render};

    #[test]
    fn excerpts_are_plain_words() {
        assert_eq!(
            plain_excerpt(
                "**Printer** is _down_ on [floor 2](https://x.example).\n\n- `lp0`\n- tray",
                100
            ),
            "Printer is down on floor 2. lp0 tray"
        );
        assert_eq!(plain_excerpt("one two three", 8), "one two…");
        // Raw HTML is dropped, its text kept.
        assert_eq!(plain_excerpt("<b>x</b>", 10), "x");
    }

    #[test]
    fn markdown_becomes_html() {
        let html = render("# Title\n\n**bold** and `code`\n\n- a\n- b");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(html.contains("<li>a</li>"), "{html}");
    }

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let html = render(
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))\n\n<a href=\"https://ok.example\" style=\"color:red\">ok</a>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("style="), "{html}");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
    }
}
