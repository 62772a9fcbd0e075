//! Issue 24, "Screens that explain themselves": why a credential fails and what fixes it
//! (`diagnosis`), the list's default order and overlaps on its rows (`list_order`), the
//! dialogs' safe defaults (`dialogs`), first run and staff (`staff`), failing webhooks
//! (`webhooks`).

mod diagnosis;
mod dialogs;
mod list_order;
mod reference;
mod staff;
mod webhooks;
