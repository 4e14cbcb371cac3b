//! Live capture from a network interface through libpcap, as [`Frame`]s.
//!
//! Promises:
//! - a read never blocks for longer than [`READ_TIMEOUT_MS`]: [`LiveCapture::next_frame`]
//!   returns `Ok(None)` when no packet came in that time, so the caller can notice a stop
//!   request, a deadline or a timer. The handle is non-blocking and the wait is our own
//!   `poll(2)`: libpcap 1.10's read timeout on Linux does not return while no packet arrives;
//! - packets are delivered at most [`READ_TIMEOUT_MS`] after they arrived, with nanosecond
//!   timestamps, so a capture saved with [`LiveCapture::save_to`] reads back through
//!   [`super::offline`] as the very frames the pipeline saw. Immediate mode is deliberately
//!   off: on Linux it means TPACKET_V2, whose ring has one slot per packet sized for the
//!   largest possible packet (64 KiB with receive offload or on `lo`, each in a 128 KiB
//!   block), so a 32 MiB buffer holds ~500 packets in 64 MiB of memory. TPACKET_V3 packs
//!   packets into blocks, each handed over when full or [`READ_TIMEOUT_MS`] old. Measured on
//!   `lo` with 32 MiB: a burst of 300,000 small packets lost 40% with immediate mode, none
//!   without. [`DRAIN`] is how long to go on reading after a stop to get the packets still
//!   in a block;
//! - every way opening can fail is one [`OpenError`] whose text is one line saying what to do:
//!   an unknown interface lists those that exist, a permission error names the capabilities
//!   and the `setcap` command, a bad filter gives libpcap's reason;
//! - kernel drop counters, which libpcap keeps in 32 bits, are widened to 64 bits here
//!   (polled at least once per 2^32 packets they never wrap).
//!
//! [`TargetUser`] and [`drop_privileges`] implement `--user`: after the handle is open, the
//! process gives up root for good (supplementary groups, group, then user), as tcpdump's `-Z`.

use std::ffi::CString;
use std::fmt;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::Path;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{Gid, Uid, User};
use pcap::{Active, Capture, Device, Precision, Savefile};

use super::{Frame, LinkType, Timestamp};

/// How long one read waits for a packet before giving control back.
pub const READ_TIMEOUT_MS: u16 = 250;

/// Reading on this long after a stop hands over every packet that arrived before it.
pub const DRAIN: std::time::Duration =
    std::time::Duration::from_millis(READ_TIMEOUT_MS as u64 + 100);

/// What `live` was asked to capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureOptions {
    pub interface: String,
    /// BPF filter in tcpdump syntax.
    pub filter: Option<String>,
    /// Bytes kept of each packet (64 to 262144).
    pub snaplen: u32,
    pub promisc: bool,
    /// Kernel buffer, MiB (1 to 2047).
    pub buffer_mib: u32,
}

/// Why the interface could not be opened for capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// No interface has that name; `existing` are the names that do exist.
    NoSuchInterface { name: String, existing: Vec<String> },
    /// Capturing needs privileges this process does not have.
    Permission { name: String, exe: String },
    /// libpcap refused the `--filter` expression.
    Filter { filter: String, reason: String },
    /// The interface's link layer is not one the decoder knows.
    UnsupportedLink { name: String, link: LinkType },
    /// Anything else libpcap said (interface down, no buffer space, ...).
    Other { name: String, reason: String },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::NoSuchInterface { name, existing } => {
                write!(f, "no interface named \"{}\"", visible(name))?;
                if existing.is_empty() {
                    f.write_str("; libpcap lists no interfaces")
                } else {
                    write!(f, "; interfaces: {}", existing.join(", "))
                }
            }
            OpenError::Permission { name, exe } => write!(
                f,
                "{name}: no permission to capture: run as root, or give the program \
                 CAP_NET_RAW and CAP_NET_ADMIN once with: sudo setcap \
                 cap_net_raw,cap_net_admin=eip {exe}"
            ),
            OpenError::Filter { filter, reason } => {
                write!(f, "--filter \"{}\": {reason}", visible(filter))
            }
            OpenError::UnsupportedLink { name, link } => write!(
                f,
                "{name}: unsupported link type {link}; supported: ETHERNET, LINUX_SLL, \
                 LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP"
            ),
            OpenError::Other { name, reason } => write!(f, "{name}: cannot capture: {reason}"),
        }
    }
}

impl std::error::Error for OpenError {}

/// Kernel counters of the capture, since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the kernel passed the filter (libpcap's `ps_recv`).
    pub received: u64,
    /// Dropped because the capture buffer was full: packets were not read fast enough.
    pub dropped: u64,
    /// Dropped by the interface or its driver (not every driver reports it).
    pub if_dropped: u64,
}

/// An open capture on an interface.
pub struct LiveCapture {
    cap: Capture<Active>,
    name: String,
    link: LinkType,
    snaplen: u32,
    packets: u64,
    /// The last read gave a packet: try the next one before waiting.
    busy: bool,
    savefile: Option<Savefile>,
    /// The last raw (32-bit) counters and their 64-bit totals.
    raw_stats: [u32; 3],
    stats: KernelStats,
}

impl LiveCapture {
    /// Opens `o.interface` and applies the filter. Needs root or CAP_NET_RAW + CAP_NET_ADMIN.
    pub fn open(o: &CaptureOptions) -> Result<LiveCapture, OpenError> {
        let name = o.interface.clone();
        // An unknown name is told apart before libpcap's own, vaguer, message.
        if let Ok(devices) = Device::list() {
            if !devices.iter().any(|d| d.name == name) {
                return Err(OpenError::NoSuchInterface {
                    name,
                    existing: devices.into_iter().map(|d| d.name).collect(),
                });
            }
        }
        let fail = |e: pcap::Error| classify(&name, &e);
        let snaplen = o.snaplen.min(262_144);
        let buffer = i32::try_from(u64::from(o.buffer_mib) << 20).unwrap_or(i32::MAX);
        let mut cap = Capture::from_device(name.as_str())
            .map_err(fail)?
            .promisc(o.promisc)
            .snaplen(i32::try_from(snaplen).unwrap_or(262_144))
            .timeout(i32::from(READ_TIMEOUT_MS))
            // TPACKET_V3: see the module comment.
            .immediate_mode(false)
            .buffer_size(buffer)
            .precision(Precision::Nano)
            .open()
            .map_err(fail)?;
        let link = LinkType(cap.get_datalink().0);
        if !link.is_supported() {
            return Err(OpenError::UnsupportedLink { name, link });
        }
        if let Some(filter) = &o.filter {
            cap.filter(filter, true).map_err(|e| OpenError::Filter {
                filter: filter.clone(),
                reason: pcap_reason(&e),
            })?;
        }
        let cap = cap.setnonblock().map_err(fail)?;
        Ok(LiveCapture {
            cap,
            name,
            link,
            snaplen,
            packets: 0,
            busy: true,
            savefile: None,
            raw_stats: [0; 3],
            stats: KernelStats::default(),
        })
    }

    pub fn interface(&self) -> &str {
        &self.name
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// Packets delivered so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Saves every packet read from now on to `path` (a classic pcap with nanosecond
    /// timestamps; `-` is standard output). Written directly, not renamed into place: a run
    /// stopped at once still leaves the packets read until then.
    pub fn save_to(&mut self, path: &Path) -> Result<(), String> {
        let file = self
            .cap
            .savefile(path)
            .map_err(|e| format!("{}: {}", crate::report::escape::path(path), pcap_reason(&e)))?;
        self.savefile = Some(file);
        Ok(())
    }

    /// Flushes the `--write` file, so that what it holds so far can be read.
    pub fn flush_savefile(&mut self) -> Result<(), String> {
        match &mut self.savefile {
            Some(s) => s.flush().map_err(|e| pcap_reason(&e)),
            None => Ok(()),
        }
    }

    /// The next packet; `Ok(None)` when none came within [`READ_TIMEOUT_MS`]. With `--write`,
    /// the packet is saved before it is handed out.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, String> {
        if !self.busy {
            let mut fds = [PollFd::new(self.cap.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(READ_TIMEOUT_MS)) {
                Ok(0) | Err(Errno::EINTR) => return Ok(None),
                // Readable, or an error condition that the read below reports.
                Ok(_) => {}
                Err(e) => return Err(format!("{}: capture failed: poll: {}", self.name, e.desc())),
            }
        }
        match self.cap.next_packet() {
            Ok(packet) => {
                self.busy = true;
                if let Some(s) = &mut self.savefile {
                    s.write(&packet);
                }
                self.packets += 1;
                let h = packet.header;
                Ok(Some(Frame {
                    number: self.packets,
                    ts: Timestamp::from_secs_nanos(h.ts.tv_sec, h.ts.tv_usec),
                    link: self.link,
                    data: packet.data,
                    orig_len: h.len,
                }))
            }
            // Non-blocking: nothing is ready; the next call waits.
            Err(pcap::Error::TimeoutExpired) => {
                self.busy = false;
                Ok(None)
            }
            Err(e) => Err(format!(
                "{}: capture failed: {}",
                self.name,
                pcap_reason(&e)
            )),
        }
    }

    /// The kernel's counters now (the last known ones if libpcap cannot tell).
    pub fn kernel_stats(&mut self) -> KernelStats {
        if let Ok(s) = self.cap.stats() {
            let now = [s.received, s.dropped, s.if_dropped];
            let totals = [
                &mut self.stats.received,
                &mut self.stats.dropped,
                &mut self.stats.if_dropped,
            ];
            for ((total, last), now) in totals.into_iter().zip(&mut self.raw_stats).zip(now) {
                *total += u64::from(now.wrapping_sub(*last));
                *last = now;
            }
        }
        self.stats
    }
}

/// libpcap's message without the crate's "libpcap error: " prefix or a final period.
fn pcap_reason(e: &pcap::Error) -> String {
    let text = match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    };
    text.trim().trim_end_matches('.').to_string()
}

/// Sorts libpcap's open errors into the cases a user acts on differently.
fn classify(name: &str, e: &pcap::Error) -> OpenError {
    let reason = pcap_reason(e);
    let lower = reason.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("operation not permitted") {
        OpenError::Permission {
            name: name.to_string(),
            exe: std::env::current_exe()
                .ok()
                .and_then(|p| p.to_str().map(String::from))
                .unwrap_or_else(|| "$(which tlscensus)".to_string()),
        }
    } else if lower.contains("no such device") {
        OpenError::NoSuchInterface {
            name: name.to_string(),
            existing: Device::list()
                .map(|d| d.into_iter().map(|d| d.name).collect())
                .unwrap_or_default(),
        }
    } else {
        // libpcap often starts with the interface name; it is said once, first.
        let reason = match reason.strip_prefix(name).and_then(|r| r.strip_prefix(": ")) {
            Some(rest) => rest.to_string(),
            None => reason,
        };
        OpenError::Other {
            name: name.to_string(),
            reason,
        }
    }
}

fn visible(s: &str) -> String {
    crate::report::escape::visible(s.as_bytes())
}

/// One interface as `tlscensus interfaces` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub description: Option<String>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
    /// Addresses with their prefix length, when the netmask is a contiguous one.
    pub addresses: Vec<(IpAddr, Option<u8>)>,
}

/// The interfaces libpcap can capture on, in its order (most useful first).
pub fn interfaces() -> Result<Vec<Interface>, String> {
    let devices = Device::list().map_err(|e| pcap_reason(&e))?;
    Ok(devices
        .into_iter()
        .map(|d| Interface {
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            addresses: d
                .addresses
                .iter()
                .map(|a| (a.addr, a.netmask.and_then(prefix_len)))
                .collect(),
            name: d.name,
            description: d.desc,
        })
        .collect())
}

/// The prefix length of a netmask (`255.255.255.0` → 24); `None` for a non-contiguous mask.
pub fn prefix_len(mask: IpAddr) -> Option<u8> {
    let bits = match mask {
        IpAddr::V4(m) => u128::from(u32::from(m)) << 96,
        IpAddr::V6(m) => u128::from(m),
    };
    let len = bits.leading_ones();
    (bits.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

/// The account `--user` names, looked up before anything is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUser {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
}

impl TargetUser {
    /// Finds the user in the system's user database; the error starts with the name.
    pub fn lookup(name: &str) -> Result<TargetUser, String> {
        match User::from_name(name) {
            Ok(Some(u)) => Ok(TargetUser {
                name: u.name,
                uid: u.uid,
                gid: u.gid,
            }),
            Ok(None) => Err(format!("{}: no such user", visible(name))),
            Err(e) => Err(format!("{}: cannot look up: {}", visible(name), e.desc())),
        }
    }
}

/// Becomes `user` for good: its supplementary groups, its group, then its user id (real,
/// effective and saved, so root cannot be regained), and checks that root is gone.
/// Nothing to do when already running as that user.
pub fn drop_privileges(user: &TargetUser) -> Result<(), String> {
    if nix::unistd::geteuid() == user.uid && nix::unistd::getuid() == user.uid {
        return Ok(());
    }
    let fail = |what: &str, e: nix::Error| {
        let hint = if e == nix::Error::EPERM {
            " (only root can switch users)"
        } else {
            ""
        };
        format!("--user {}: cannot {what}: {}{hint}", user.name, e.desc())
    };
    let cname = CString::new(user.name.as_str())
        .map_err(|_| format!("--user {}: name contains NUL", visible(&user.name)))?;
    // setgroups / setgid / setuid in this order: once the uid is dropped, the others are
    // no longer allowed. glibc applies each to every thread of the process.
    nix::unistd::initgroups(&cname, user.gid).map_err(|e| fail("set its groups", e))?;
    nix::unistd::setgid(user.gid).map_err(|e| fail("set its group id", e))?;
    nix::unistd::setuid(user.uid).map_err(|e| fail("set its user id", e))?;
    if !user.uid.is_root() && nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(format!(
            "--user {}: root privileges could be regained after switching; refusing to go on",
            user.name
        ));
    }
    log::debug!(
        "running as user {} (uid {}, gid {})",
        user.name,
        user.uid,
        user.gid
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_lengths() {
        let p = |s: &str| prefix_len(s.parse().unwrap());
        assert_eq!(p("255.255.255.0"), Some(24));
        assert_eq!(p("255.0.0.0"), Some(8));
        assert_eq!(p("255.255.255.255"), Some(32));
        assert_eq!(p("0.0.0.0"), Some(0));
        assert_eq!(p("255.0.255.0"), None);
        assert_eq!(p("ffff:ffff:ffff:ffff::"), Some(64));
        assert_eq!(p("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Some(128));
        assert_eq!(p("ffff::ffff"), None);
    }

    #[test]
    fn open_errors_are_one_line_saying_what_to_do() {
        let e = OpenError::NoSuchInterface {
            name: "eth9".into(),
            existing: vec!["eth0".into(), "lo".into(), "any".into()],
        };
        assert_eq!(
            e.to_string(),
            "no interface named \"eth9\"; interfaces: eth0, lo, any"
        );
        let e = OpenError::Permission {
            name: "eth0".into(),
            exe: "/usr/local/bin/tlscensus".into(),
        };
        assert_eq!(
            e.to_string(),
            "eth0: no permission to capture: run as root, or give the program CAP_NET_RAW and \
             CAP_NET_ADMIN once with: sudo setcap cap_net_raw,cap_net_admin=eip \
             /usr/local/bin/tlscensus"
        );
        let e = OpenError::Filter {
            filter: "port\x1b".into(),
            reason: "syntax error".into(),
        };
        assert_eq!(e.to_string(), "--filter \"port\\x1b\": syntax error");
        for e in [
            OpenError::UnsupportedLink {
                name: "wlan0mon".into(),
                link: LinkType(127),
            },
            OpenError::Other {
                name: "eth0".into(),
                reason: "That device is not up".into(),
            },
        ] {
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn libpcap_messages_are_classified() {
        let perm = pcap::Error::PcapError(
            "eth0: You don't have permission to perform this capture on that device \
             (socket: Operation not permitted)"
                .into(),
        );
        assert!(matches!(
            classify("eth0", &perm),
            OpenError::Permission { .. }
        ));
        let gone = pcap::Error::PcapError("SIOCGIFINDEX: No such device".into());
        assert!(matches!(
            classify("eth9", &gone),
            OpenError::NoSuchInterface { .. }
        ));
        let down = pcap::Error::PcapError("eth1: That device is not up.".into());
        assert_eq!(
            classify("eth1", &down).to_string(),
            "eth1: cannot capture: That device is not up"
        );
    }

    #[test]
    fn unknown_user_is_refused() {
        assert_eq!(
            TargetUser::lookup("no-such-user-tlscensus").unwrap_err(),
            "no-such-user-tlscensus: no such user"
        );
        let root = TargetUser::lookup("root").unwrap();
        assert!(root.uid.is_root());
    }
}
