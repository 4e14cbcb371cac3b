//! (d) The Microsoft 365 endpoint data loader (`--endpoints FILE`), then the lookups a run
//! makes with what it loaded.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use tlscensus::m365::{EndpointData, Scope};

fuzz_target!(|data: &[u8]| {
    let Ok(endpoints) = EndpointData::from_json(data) else {
        return;
    };
    let _ = endpoints.summary();
    let _ = endpoints.instance();
    let ips: [IpAddr; 4] = [
        IpAddr::from([40, 96, 0, 1]),
        IpAddr::from([52, 112, 0, 1]),
        IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
        IpAddr::from([0x2603u16, 0x1006, 0, 0, 0, 0, 0, 1]),
    ];
    let hosts: [&[u8]; 4] = [
        b"outlook.office365.com",
        b"x.sharepoint.com",
        b"",
        b"*.\xff.",
    ];
    for ip in ips {
        let _ = endpoints.lookup_ip(ip);
    }
    for host in hosts {
        let _ = endpoints.match_host(host);
    }
    // Every name the data itself holds, as an SNI.
    let names: Vec<Vec<u8>> = endpoints
        .sets()
        .iter()
        .flat_map(|s| s.urls.iter().map(|u| u.as_bytes().to_vec()))
        .collect();
    let scope = Scope::new(endpoints, &[], &[]);
    for name in &names {
        let _ = scope.classify(ips[0], Some(name));
    }
    for ip in ips {
        let _ = scope.classify(ip, hosts.first().copied());
    }
});
