//! Issue 19, "Trustworthy at the seams": policies against existing credentials (`edits`,
//! `staleness`), statuses with one rule each (`status`), permissions and containment
//! (`containment`, `leak_reports`), and what the records keep (`records`).

mod containment;
mod edits;
mod leak_reports;
mod records;
mod staleness;
mod status;
