//! The JSON endpoints beside the OAuth ones: today the leak reports of secret scanners.

pub mod leaks;
