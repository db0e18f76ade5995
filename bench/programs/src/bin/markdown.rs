//! Markdown rendering with `pulldown-cmark`: a generated document with
//! headings, paragraphs with emphasis and links, lists, block quotes, code
//! blocks and tables, rendered to HTML.

use bench::{FNV_START, Rng, fnv1a};
use pulldown_cmark::{Options, Parser, html};

fn document(rng: &mut Rng, len: usize) -> String {
    let words = bench::vocabulary(rng, 1500);
    let w = |rng: &mut Rng| words[rng.skewed(words.len() as u64) as usize].as_str();
    let mut doc = String::with_capacity(len + 1024);
    while doc.len() < len {
        match rng.below(10) {
            0 => doc.push_str(&format!(
                "{} {} {}\n\n",
                "#".repeat(1 + rng.below(4) as usize),
                w(rng),
                w(rng)
            )),
            1 => {
                for i in 0..2 + rng.below(5) {
                    doc.push_str(&format!(
                        "{} {} *{}* {}\n",
                        if rng.below(2) == 0 {
                            "-".into()
                        } else {
                            format!("{}.", i + 1)
                        },
                        w(rng),
                        w(rng),
                        w(rng)
                    ));
                }
                doc.push('\n');
            }
            2 => doc.push_str(&format!(
                "> {} {} **{}** {}\n> {}\n\n",
                w(rng),
                w(rng),
                w(rng),
                w(rng),
                w(rng)
            )),
            3 => doc.push_str(&format!(
                "```rust\nfn {}() -> u32 {{ {} }}\n```\n\n",
                w(rng),
                rng.below(1000)
            )),
            4 => {
                doc.push_str("| a | b | c |\n|---|:-:|--:|\n");
                for _ in 0..1 + rng.below(4) {
                    doc.push_str(&format!(
                        "| {} | `{}` | {} |\n",
                        w(rng),
                        w(rng),
                        rng.below(100)
                    ));
                }
                doc.push('\n');
            }
            _ => {
                for i in 0..20 + rng.below(60) {
                    match rng.below(14) {
                        0 => doc.push_str(&format!("*{}*", w(rng))),
                        1 => doc.push_str(&format!("**{}**", w(rng))),
                        2 => doc.push_str(&format!(
                            "[{}](https://example.com/{}/{})",
                            w(rng),
                            w(rng),
                            i
                        )),
                        3 => doc.push_str(&format!("`{}`", w(rng))),
                        4 => doc.push_str("&amp; <b>x</b>"),
                        _ => doc.push_str(w(rng)),
                    }
                    doc.push(if i % 13 == 12 { '\n' } else { ' ' });
                }
                doc.push_str("\n\n");
            }
        }
    }
    doc
}

fn main() {
    let size = bench::size();
    let mut rng = Rng::new(6);
    let doc = document(&mut rng, size.pick(64 << 10, 4 << 20));
    let mut sum = FNV_START;
    let mut out = String::new();
    for _ in 0..size.pick(1, 8) {
        out.clear();
        let parser = Parser::new_ext(&doc, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
        html::push_html(&mut out, parser);
        sum = fnv1a(sum, out.as_bytes());
    }
    println!(
        "markdown: {} bytes to {} bytes of html, checksum {sum:016x}",
        doc.len(),
        out.len()
    );
}
