//! (a) A whole capture file: the native pcap/pcapng reader, then the full pipeline with scope
//! `all`, then every writer. Nothing may panic, whatever the bytes.
#![no_main]

use std::io::Cursor;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tlscensus::capture::native::NativeReader;
use tlscensus::census::ClientOrder;
use tlscensus::m365::{EndpointData, Scope};
use tlscensus::pipeline::{Config, Pipeline};
use tlscensus::report::csv::{write_clients, ConnectionsWriter};
use tlscensus::report::table::{render, TableContext};

/// The embedded data, parsed once.
static SCOPE: LazyLock<Scope> = LazyLock::new(|| Scope::new(EndpointData::embedded(), &[], &[]));

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = NativeReader::from_reader("fuzz", Cursor::new(data.to_vec())) else {
        return;
    };
    let config = Config {
        scope_all: true,
        ..Config::default()
    };
    let mut pipeline = Pipeline::new(&SCOPE, config, ConnectionsWriter::new(Vec::new()));
    while let Ok(Some(frame)) = reader.next_frame() {
        pipeline.handle_frame(&frame);
    }
    let (census, stats, sink) = pipeline.finish();
    let _ = sink.finish();
    let _ = write_clients(census.sorted(), Vec::new());
    let _ = render(
        &census,
        &stats,
        &TableContext {
            scope_label: "fuzz",
            top: None,
            order: ClientOrder::default(),
            color: true,
        },
    );
    let _ = stats.summary();
});
