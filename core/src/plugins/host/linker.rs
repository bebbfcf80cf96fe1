//! Every capability registered in the linker, each with its own view of the invocation.

use super::state::PluginState;
use super::{clock, config, connectors, events, files, http, kv, log, mail, random, records};

/// Registers every host capability in a linker, each with its own view of the invocation.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<PluginState>) -> wasmtime::Result<()> {
    use super::socle::plugin as wit;
    wit::types::add_to_linker::<PluginState, wasmtime::component::HasSelf<PluginState>>(linker, |state| state)?;
    wit::log::add_to_linker::<PluginState, log::Log>(linker, |s| log::LogHost { inv: &mut s.invocation })?;
    wit::clock::add_to_linker::<PluginState, clock::Clock>(linker, |s| clock::ClockHost { inv: &mut s.invocation, clock: &s.services.clock })?;
    wit::random::add_to_linker::<PluginState, random::Random>(linker, |s| random::RandomHost { inv: &mut s.invocation })?;
    wit::kv::add_to_linker::<PluginState, kv::Kv>(linker, |s| kv::KvHost { inv: &mut s.invocation, store: s.services.store.as_ref() })?;
    wit::config::add_to_linker::<PluginState, config::Config>(linker, |s| config::ConfigHost {
        inv: &mut s.invocation,
        store: s.services.store.as_ref(),
        settings: &s.plugin.manifest.settings,
    })?;
    wit::records::add_to_linker::<PluginState, records::Records>(linker, |s| records::RecordsHost { inv: &mut s.invocation, records: &s.services.records })?;
    wit::files::add_to_linker::<PluginState, files::Files>(linker, |s| files::FilesHost {
        inv: &mut s.invocation,
        records: &s.services.records,
        pending: &s.pending_files,
    })?;
    wit::mail::add_to_linker::<PluginState, mail::Mail>(linker, |s| mail::MailHost {
        inv: &mut s.invocation,
        mailer: &s.services.mailer,
        records: &s.services.records,
    })?;
    wit::events::add_to_linker::<PluginState, events::Events>(linker, |s| events::EventsHost {
        inv: &mut s.invocation,
        jobs: s.services.jobs.as_ref(),
        clock: &s.services.clock,
        subscriptions: &s.subscriptions,
    })?;
    wit::http::add_to_linker::<PluginState, http::Http>(linker, |s| http::HttpHost {
        inv: &mut s.invocation,
        client: &s.services.http,
        allow_private_hosts: &s.services.settings.allow_private_hosts,
    })?;
    wit::connectors::add_to_linker::<PluginState, connectors::Connectors>(linker, |s| connectors::ConnectorsHost {
        inv: &mut s.invocation,
        client: &s.services.http,
        settings: &s.services.settings,
    })?;
    Ok(())
}
