//! (b) One packet through decode → fragments → flow → reassembly → TLS, under each link type
//! the decoder supports. The first byte says how many bytes the snap length cut (0-255), the
//! rest is the frame. The decoder's hand-written header reader must agree with etherparse's.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tlscensus::capture::{Frame, LinkType, Timestamp};
use tlscensus::m365::{EndpointData, Scope};
use tlscensus::pipeline::{Config, Pipeline};

const LINKS: [LinkType; 10] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::RAW_12,
    LinkType::RAW_14,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
];

/// The embedded data, parsed once.
static SCOPE: LazyLock<Scope> = LazyLock::new(|| Scope::new(EndpointData::embedded(), &[], &[]));

fuzz_target!(|input: &[u8]| {
    let Some((&cut, data)) = input.split_first() else {
        return;
    };
    let config = Config {
        scope_all: true,
        ..Config::default()
    };
    let mut pipeline = Pipeline::new(&SCOPE, config, Vec::new());
    for (i, link) in LINKS.into_iter().enumerate() {
        let frame = Frame {
            number: i as u64 + 1,
            ts: Timestamp::from_secs_nanos(1_700_000_000, i as i64),
            link,
            data,
            orig_len: (data.len() as u32).saturating_add(u32::from(cut)),
        };
        assert_eq!(
            tlscensus::decode::decode_or_fragment(&frame),
            tlscensus::decode::decode_or_fragment_general(&frame)
        );
        pipeline.handle_frame(&frame);
    }
    let _ = pipeline.finish();
});
