//! Logging through `log` on stderr: warnings by default, `-v` debug, `-vv` trace. Messages
//! have control characters escaped ([`crate::report::escape::terminal`]), like every other
//! line on stderr: they may quote file names or text from the wire.

use std::io::Write;

pub fn init(verbose: u8) {
    let level = match verbose {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    let _ = env_logger::Builder::new()
        .filter_level(level)
        .format(|buf, record| {
            writeln!(
                buf,
                "[{} {}] {}",
                record.level(),
                record.target(),
                crate::report::escape::terminal(&record.args().to_string())
            )
        })
        .try_init();
}
