//! The layer of every top-level module of `src/`. A file may import its own layer and those
//! below it, never one above. README's Architecture section describes the same table.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    /// Small pieces with no knowledge of the product: configuration, clock, randomness,
    /// token formats, input checks, console addresses, sealing.
    Foundation,
    /// `db/`: queries that take a connection and compose inside a caller's transaction.
    Data,
    /// One function per operation: permission, limits, locks, audit row, one transaction.
    Domain,
    /// Extract the request, call one operation, render: console, JSON API, OAuth, sign-in,
    /// background jobs, the command line.
    Front,
    /// Builds the application: the route table and the server.
    Assembly,
}

const LAYERS: &[(&str, Layer)] = &[
    ("lib.rs", Layer::Assembly),
    ("startup.rs", Layer::Assembly),
    ("routes.rs", Layer::Assembly),
    ("console/", Layer::Front),
    ("api/", Layer::Front),
    ("oauth/", Layer::Front),
    ("auth/", Layer::Front),
    ("jobs/", Layer::Front),
    ("cli.rs", Layer::Front),
    ("app_state.rs", Layer::Front),
    ("shutdown.rs", Layer::Front),
    ("session.rs", Layer::Front),
    ("session_store.rs", Layer::Front),
    ("security_headers.rs", Layer::Front),
    ("error.rs", Layer::Front),
    ("health.rs", Layer::Front),
    ("render.rs", Layer::Front),
    ("html_form.rs", Layer::Front),
    ("htmx.rs", Layer::Front),
    ("views.rs", Layer::Front),
    ("assets.rs", Layer::Front),
    ("metrics/", Layer::Front),
    ("credentials/", Layer::Domain),
    ("staff/", Layer::Domain),
    ("catalog/", Layer::Domain),
    ("webhooks/", Layer::Domain),
    ("notices/", Layer::Domain),
    ("usage/", Layer::Domain),
    ("policy.rs", Layer::Domain),
    ("actor.rs", Layer::Domain),
    ("audit/", Layer::Domain),
    ("domain_error.rs", Layer::Domain),
    ("rate_limit.rs", Layer::Domain),
    ("email.rs", Layer::Domain),
    ("db/", Layer::Data),
    ("config/", Layer::Foundation),
    ("clock.rs", Layer::Foundation),
    ("random.rs", Layer::Foundation),
    ("tokens.rs", Layer::Foundation),
    ("input.rs", Layer::Foundation),
    ("paths.rs", Layer::Foundation),
    ("sealed.rs", Layer::Foundation),
    ("memory.rs", Layer::Foundation),
    ("tls.rs", Layer::Foundation),
    ("telemetry.rs", Layer::Foundation),
    ("client_ip.rs", Layer::Foundation),
    ("forms.rs", Layer::Foundation),
];

pub fn layer_of(file: &str) -> Option<Layer> {
    LAYERS
        .iter()
        .find(|(prefix, _)| file == *prefix || (prefix.ends_with('/') && file.starts_with(prefix)))
        .map(|(_, layer)| *layer)
}

pub fn may_import(from: Layer, to: Layer) -> bool {
    from >= to
}
