//! Output stage: writers that each take the census (and run statistics) and an output.
//! Every writer is a pure function of what it is given; order is deterministic.

pub mod atomic;
pub mod csv;
pub mod escape;
pub mod html;
pub mod json;
pub mod table;
