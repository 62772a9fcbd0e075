//! The organisation's API catalog and its roles: every change to them, with its permission
//! check, validation, lock and audit row in one transaction. Only a Super Admin changes them;
//! every staff role reads them.
//!
//! Each change first locks the organisation row, the lock every change to what credentials
//! may use takes first (see the hot_path migration): the checks made under it (a scope or a
//! name still free, the APIs a role names still in the catalog) still hold at commit.

pub(crate) mod apis;
pub(crate) mod roles;

/// What a Super Admin does here; completes "Your role does not allow you to …".
const CHANGE_CATALOG: &str = "change the API catalog";
const CHANGE_ROLES: &str = "change roles";
const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 500;

/// Whether a save changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Changed,
    Unchanged,
}
