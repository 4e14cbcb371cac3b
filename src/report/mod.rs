//! Output stage: writers that each take the census (and run statistics) and an output.
//! Every writer is a pure function of what it is given; order is deterministic.

pub mod atomic;
pub mod csv;
pub mod escape;
pub mod html;
pub mod json;
pub mod table;

/// `1 client`, `2 clients`, `0 clients`: a count with its noun, for every line a user reads.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
