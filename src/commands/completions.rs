//! `tlscensus completions SHELL` and `tlscensus man`: shell completion scripts and manual
//! pages generated from the clap definition in [`crate::cli`], so they never disagree with
//! `--help`.

use std::io::{self, Write};
use std::path::Path;

use anyhow::{anyhow, Context};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::commands::Exit;
use crate::report::atomic::io_reason;

/// Writes the completion script for `shell` to `out`.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "tlscensus", out);
}

/// Prints the completion script on stdout.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<Exit> {
    let mut buf = Vec::new();
    write_completions(args.shell, &mut buf);
    print(&buf)?;
    Ok(Exit::Ok)
}

/// The command whose page this is: the top one, or a subcommand by name. `None` when there is
/// no such command.
fn page_command(name: Option<&str>) -> Option<clap::Command> {
    // `build` fills in what the pages need (version propagated). The pages have no `help`
    // subcommand: `man --dir` writes no page for it, so none refers to one.
    let mut top = Cli::command().disable_help_subcommand(true);
    top.build();
    match name {
        None => Some(top),
        // After `build`, a subcommand's display name is `tlscensus-NAME` and its bin name
        // `tlscensus NAME`: the page's title and synopsis.
        Some(name) => top
            .get_subcommands()
            .find(|c| c.get_name() == name)
            .cloned(),
    }
}

/// Text for roff: a backslash and a hyphen-minus as roff wants them, and no line that roff
/// would take for a request.
fn roff_text(s: &str) -> String {
    let t = s.replace('\\', "\\e").replace('-', "\\-");
    t.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// SYNOPSIS with the value name of every option that takes one (`[--csv FILE]`).
fn synopsis(cmd: &clap::Command) -> String {
    use clap::ArgAction;
    let name = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
    let mut parts = vec![format!("\\fB{}\\fR", roff_text(name))];
    for arg in cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
    {
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("\\fB\\-{s}\\fR|\\fB\\-\\-{}\\fR", roff_text(l)),
            (Some(s), None) => format!("\\fB\\-{s}\\fR"),
            (None, Some(l)) => format!("\\fB\\-\\-{}\\fR", roff_text(l)),
            (None, None) => continue,
        };
        let value = match arg.get_action() {
            ArgAction::Set | ArgAction::Append => {
                let names = arg
                    .get_value_names()
                    .map(|v| v.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                    .unwrap_or_else(|| vec![arg.get_id().as_str().to_uppercase()]);
                format!(" \\fI{}\\fR", roff_text(&names.join(" ")))
            }
            _ => String::new(),
        };
        let repeat = matches!(arg.get_action(), ArgAction::Append | ArgAction::Count);
        let (open, close) = if arg.is_required_set() {
            ("", "")
        } else {
            ("[", "]")
        };
        parts.push(format!(
            "{open}{flag}{value}{close}{}",
            if repeat { "..." } else { "" }
        ));
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let names = arg
            .get_value_names()
            .map(|v| v.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap_or_else(|| vec![arg.get_id().as_str().to_uppercase()]);
        let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        let (open, close) = if arg.is_required_set() {
            ("", "")
        } else {
            ("[", "]")
        };
        parts.push(format!(
            "{open}\\fI{}\\fR{}{close}",
            roff_text(&names.join(" ")),
            if many { "..." } else { "" }
        ));
    }
    if cmd.has_subcommands() {
        parts.push("\\fICOMMAND\\fR".into());
    }
    format!(".SH SYNOPSIS\n{}\n", parts.join(" "))
}

/// EXIT STATUS, from the exit-code table of `--help` ([`crate::cli::EXIT_CODES_HELP`]).
fn exit_status() -> String {
    let mut out = String::from(".SH \"EXIT STATUS\"\n");
    let mut rest = Vec::new();
    for line in crate::cli::EXIT_CODES_HELP.lines().skip(1) {
        let trimmed = line.trim_start();
        let code = trimmed.split_whitespace().next().unwrap_or("");
        if line.starts_with("  ")
            && !line.starts_with("   ")
            && code.bytes().all(|b| b.is_ascii_digit())
        {
            let text = trimmed[code.len()..].trim_start();
            out.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff_text(text)));
        } else if line.starts_with("   ") {
            out.push_str(&roff_text(trimmed));
            out.push('\n');
        } else {
            rest.push(roff_text(trimmed));
        }
    }
    if !rest.is_empty() {
        out.push_str(&format!(".PP\n{}\n", rest.join(" ")));
    }
    out
}

/// SEE ALSO: every other page `man --dir` writes.
fn see_also(this: Option<&str>) -> String {
    let mut pages: Vec<String> = Vec::new();
    if this.is_some() {
        pages.push("\\fBtlscensus\\fR(1)".into());
    }
    for name in page_names() {
        if Some(name.as_str()) != this {
            pages.push(format!("\\fBtlscensus\\-{}\\fR(1)", roff_text(&name)));
        }
    }
    format!(".SH \"SEE ALSO\"\n{}\n", pages.join(", "))
}

/// The roff text of a manual page: `tlscensus(1)`, or `tlscensus-COMMAND(1)`: NAME, SYNOPSIS
/// with value names, DESCRIPTION, OPTIONS, COMMANDS (main page), EXIT STATUS, SEE ALSO,
/// VERSION.
pub fn render_page(command: Option<&str>) -> Option<Vec<u8>> {
    let cmd = page_command(command)?;
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    // Rendering into a Vec cannot fail.
    man.render_title(&mut out).ok()?;
    man.render_name_section(&mut out).ok()?;
    out.extend_from_slice(synopsis(&cmd).as_bytes());
    man.render_description_section(&mut out).ok()?;
    man.render_options_section(&mut out).ok()?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out).ok()?;
    }
    out.extend_from_slice(exit_status().as_bytes());
    out.extend_from_slice(see_also(command).as_bytes());
    man.render_version_section(&mut out).ok()?;
    Some(out)
}

/// The names of the commands that have a page of their own.
pub fn page_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| n != "help")
        .collect()
}

/// Prints one page, or writes every page into `--dir`.
pub fn man(args: ManArgs) -> anyhow::Result<Exit> {
    if let Some(dir) = &args.dir {
        write_pages(dir)?;
        return Ok(Exit::Ok);
    }
    match render_page(args.command.as_deref()) {
        Some(page) => {
            print(&page)?;
            Ok(Exit::Ok)
        }
        None => {
            crate::commands::say(format_args!(
                "man: no command named \"{}\"; commands: {}",
                crate::report::escape::visible(args.command.unwrap_or_default().as_bytes()),
                page_names().join(", ")
            ));
            Ok(Exit::Usage)
        }
    }
}

/// `tlscensus.1` and `tlscensus-COMMAND.1` for each command, in `dir` (created if needed).
fn write_pages(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow!("{}: {}", crate::report::escape::path(dir), io_reason(&e)))?;
    let mut pages = vec![("tlscensus.1".to_string(), render_page(None))];
    for name in page_names() {
        let page = render_page(Some(&name));
        pages.push((format!("tlscensus-{name}.1"), page));
    }
    for (file, page) in pages {
        let page = page.with_context(|| format!("cannot render {file}"))?;
        let path = dir.join(&file);
        std::fs::write(&path, page)
            .map_err(|e| anyhow!("{}: {}", crate::report::escape::path(&path), io_reason(&e)))?;
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(anyhow!("<stdout>: {e}")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_page() {
        let names = page_names();
        for n in ["read", "live", "merge", "endpoints", "completions", "man"] {
            assert!(names.iter().any(|x| x == n), "{n} in {names:?}");
        }
        for n in &names {
            let page = String::from_utf8(render_page(Some(n)).unwrap()).unwrap();
            assert!(page.contains(&format!("tlscensus\\-{n}")), "{n}: {page}");
        }
        assert!(render_page(Some("nonsense")).is_none());
    }

    #[test]
    fn main_page_names_the_exit_codes() {
        let page = String::from_utf8(render_page(None).unwrap()).unwrap();
        assert!(page.contains(".TH tlscensus 1"), "{page}");
        assert!(
            page.contains(".SH \"EXIT STATUS\"\n.TP\n\\fB0\\fR\n"),
            "{page}"
        );
        assert!(page.contains(".TP\n\\fB130\\fR\n"), "{page}");
        assert!(!page.contains("EXTRA"), "{page}");
        assert!(!page.contains("help(1)"), "{page}");
        assert!(page.contains("\\fBtlscensus\\-read\\fR(1)"), "{page}");
    }

    #[test]
    fn synopsis_names_the_values() {
        let page = String::from_utf8(render_page(Some("read")).unwrap()).unwrap();
        assert!(page.contains("[\\fB\\-\\-csv\\fR \\fIFILE\\fR]"), "{page}");
        assert!(page.contains("\\fICAPTURE\\fR..."), "{page}");
        assert!(page.contains("\\fBtlscensus\\fR(1)"), "{page}");
    }
}
