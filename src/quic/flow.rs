pub mod flow {}
