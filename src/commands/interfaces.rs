//! `tlscensus interfaces`: the interfaces `live -i` can capture on, one line each.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::anyhow;

use crate::capture::live::{self, Interface};
use crate::commands::Exit;

pub fn run() -> anyhow::Result<Exit> {
    let list = live::interfaces().map_err(|e| anyhow!("cannot list interfaces: {e}"))?;
    if list.is_empty() {
        return Err(anyhow!(
            "libpcap lists no interfaces (on some systems listing needs root or CAP_NET_RAW)"
        ));
    }
    let text = render(&list);
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(anyhow!("<stdout>: {e}"));
        }
    }
    Ok(Exit::Ok)
}

/// `NAME  STATE  ADDRESSES  DESCRIPTION` columns, in libpcap's order (most useful first).
pub fn render(list: &[Interface]) -> String {
    let visible = |s: &str| crate::report::escape::visible(s.as_bytes());
    let rows: Vec<[String; 4]> = list
        .iter()
        .map(|i| {
            let mut state = vec![if i.up { "up" } else { "down" }];
            if i.running {
                state.push("running");
            }
            if i.loopback {
                state.push("loopback");
            }
            let addrs: Vec<String> = i
                .addresses
                .iter()
                .map(|(a, len)| match len {
                    Some(l) => format!("{a}/{l}"),
                    None => a.to_string(),
                })
                .collect();
            [
                visible(&i.name),
                state.join(","),
                if addrs.is_empty() {
                    "-".to_string()
                } else {
                    addrs.join(" ")
                },
                i.description.as_deref().map(visible).unwrap_or_default(),
            ]
        })
        .collect();
    let head = ["NAME", "STATE", "ADDRESSES", "DESCRIPTION"];
    let mut widths = head.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(head.map(String::from)).chain(rows) {
        let line = format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interface_with_prefixes() {
        let list = vec![
            Interface {
                name: "eth0".into(),
                description: None,
                up: true,
                running: true,
                loopback: false,
                addresses: vec![
                    ("192.0.2.10".parse().unwrap(), Some(24)),
                    ("fe80::1".parse().unwrap(), Some(64)),
                ],
            },
            Interface {
                name: "lo".into(),
                description: None,
                up: true,
                running: true,
                loopback: true,
                addresses: vec![("127.0.0.1".parse().unwrap(), Some(8))],
            },
            Interface {
                name: "any".into(),
                description: Some("Pseudo-device that captures on all interfaces".into()),
                up: true,
                running: true,
                loopback: false,
                addresses: vec![],
            },
            Interface {
                name: "eth1".into(),
                description: None,
                up: false,
                running: false,
                loopback: false,
                addresses: vec![],
            },
        ];
        assert_eq!(
            render(&list),
            "\
NAME  STATE                ADDRESSES                 DESCRIPTION
eth0  up,running           192.0.2.10/24 fe80::1/64
lo    up,running,loopback  127.0.0.1/8
any   up,running           -                         Pseudo-device that captures on all interfaces
eth1  down                 -
"
        );
    }
}
