//! The generic record screens, driven by each collection's schema and the plugins' views: a list
//! with filters, sort, views and pagination; multi-select with mass actions; the detail in a side
//! panel next to the list; fields that save themselves and show a conflict when someone else
//! changed the same field meanwhile; workflow buttons; history; linked records; attachments.
//!
//! URLs are plain links (`/c/<collection>?open=<id>`), so reloading or sharing a page shows the
//! same thing; htmx only avoids the full reload.
//!
//! One file per concern: [`list`] (the list, its filters and views, saved views), [`panel`] (the
//! record panel and its data), [`edit`] (creating, saving a field, attaching, transitions,
//! deleting), [`mass`] (mass actions), and [`shared`], the leaf every other one (and the other
//! portal screens) imports helpers from. This file only assembles the routes.

mod edit;
pub mod home;
mod list;
mod mass;
mod panel;
pub(super) mod shared;

use axum::Router;
use axum::routing::{get, post};

use crate::http::state::AppState;

pub use crate::http::ui::form::FormPairs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{collection}", get(list::list).post(edit::create))
        .route("/c/{collection}/new", get(edit::new_form))
        .route("/c/{collection}/mass", post(mass::mass))
        .route("/c/{collection}/views", post(list::save_view))
        .route("/c/{collection}/views/{id}/delete", post(list::delete_view))
        .route("/c/{collection}/{id}", get(list::show))
        .route("/c/{collection}/{id}/fields/{field}", post(edit::save_field))
        .route("/c/{collection}/{id}/files/{field}", post(edit::attach))
        .route("/c/{collection}/{id}/transitions/{name}", post(edit::fire))
        .route("/c/{collection}/{id}/delete", post(edit::remove))
        .route("/ui/chips.css", get(list::chips_css))
        .route("/c/{collection}/export.csv", get(list::export))
}
