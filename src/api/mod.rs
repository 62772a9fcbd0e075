//! The JSON endpoints beside the OAuth ones: the management API (`v1`) and the leak reports
//! of secret scanners.

pub(crate) mod leaks;
pub(crate) mod v1;
