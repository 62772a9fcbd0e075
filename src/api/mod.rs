//! The JSON endpoints beside the OAuth ones: the management API (`v1`) and the leak reports
//! of secret scanners.

pub mod leaks;
pub mod v1;
