//! Markdown written by people (ticket descriptions, comments), rendered to HTML that is safe
//! to put in a page: pulldown-cmark renders, ammonia keeps only harmless tags and attributes
//! (no scripts, no event handlers, no `javascript:` links, no inline styles, no forms).
//!
//! Opening a ticket must not make the reader's browser call anyone else: an image shows only
//! when it is one of TTS's own attachments (`/api/v1/attachments/{id}/`, fetched with the
//! reader's own rights, so a file they may not see stays a broken image); any other image
//! becomes a link to it, which nothing follows unless the reader clicks. The pages' CSP
//! (`img-src 'self'`) says the same to the browser. Task-list boxes are drawn as characters,
//! not as form inputs.

use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// The sanitiser's rules, made once: they are a few dozen sets and maps of tag and attribute
/// names, and every ticket read or created renders its description.
static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut rules = ammonia::Builder::default();
    rules
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into())
        // Raw HTML in the source may still name an image: only an attachment keeps its `src`.
        .attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "src" && !is_attachment_url(value) {
                None
            } else {
                Some(value.into())
            }
        });
    rules
});

/// Whether `url` is the address of one of TTS's attachments: `/api/v1/attachments/{id}`, with
/// or without the trailing slash.
pub fn is_attachment_url(url: &str) -> bool {
    url.strip_prefix("/api/v1/attachments/")
        .map(|rest| rest.strip_suffix('/').unwrap_or(rest))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// Renders `source` as CommonMark with tables, strikethrough and task lists, then sanitises.
/// Links get `rel="noopener noreferrer nofollow"`; raw HTML in the source is escaped or
/// stripped by the sanitiser, never passed through.
pub fn render(source: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut unsafe_html = String::with_capacity(source.len() * 3 / 2);
    // Images that are not attachments become links; their alt text becomes the link's text.
    let mut linked_images = Vec::new();
    let events = Parser::new_ext(source, options).map(|event| match event {
        Event::TaskListMarker(done) => Event::Text(CowStr::Borrowed(if done {
            "\u{2611} "
        } else {
            "\u{2610} "
        })),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let outside = !is_attachment_url(&dest_url);
            linked_images.push(outside);
            if outside {
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            } else {
                Event::Start(Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            }
        }
        Event::End(TagEnd::Image) if linked_images.pop() == Some(true) => Event::End(TagEnd::Link),
        other => other,
    });
    html::push_html(&mut unsafe_html, events);
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
    fn only_attachments_show_as_images_and_nothing_is_a_form() {
        let html = render(
            "![chart](https://tracker.example/pixel.png)\n\n![](/api/v1/attachments/12/)\n\n\
             <img src=\"https://tracker.example/raw.png\">\n\n<img src=\"/api/v1/attachments/3\">\n\n\
             - [x] done\n- [ ] to do\n\n<form action=\"https://evil.example\"><input name=q><button>Go</button></form>",
        );
        assert!(
            !html.contains("src=\"https://tracker"),
            "no image from outside: {html}"
        );
        assert!(
            html.contains("<a href=\"https://tracker.example/pixel.png\" rel=\"noopener noreferrer nofollow\">chart</a>"),
            "an outside image becomes a link: {html}"
        );
        assert!(
            html.contains("<img src=\"/api/v1/attachments/12/\""),
            "{html}"
        );
        assert!(
            html.contains("<img src=\"/api/v1/attachments/3\""),
            "{html}"
        );
        assert!(
            !html.contains("raw.png"),
            "raw HTML images from outside lose their src: {html}"
        );
        assert!(
            !html.contains("<input") && !html.contains("<form") && !html.contains("<button"),
            "{html}"
        );
        assert!(
            html.contains("\u{2611} done") && html.contains("\u{2610} to do"),
            "{html}"
        );
        assert!(super::is_attachment_url("/api/v1/attachments/7"));
        assert!(!super::is_attachment_url("/api/v1/attachments/7/../../x"));
        assert!(!super::is_attachment_url("//api/v1/attachments/7"));
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
