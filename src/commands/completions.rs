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
    // `build` fills in what the pages need (version propagated, help subcommands).
    let mut top = Cli::command();
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

/// The roff text of a manual page: `tlscensus(1)`, or `tlscensus-COMMAND(1)`.
pub fn render_page(command: Option<&str>) -> Option<Vec<u8>> {
    let cmd = page_command(command)?;
    let mut out = Vec::new();
    // Rendering into a Vec cannot fail.
    clap_mangen::Man::new(cmd).render(&mut out).ok()?;
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
        assert!(page.contains("Exit codes"), "{page}");
    }
}
