//! `ui`: a live, read-only view of every worker's shared events over HTTP. No central
//! scheduler: it reads what the workers already share (the Redis stream, or the workspace's
//! event log), folds it into runs, families, tasks and workers, and renders pages on the
//! server. It listens on loopback unless told otherwise.

mod calendar;
mod graph;
mod outputs;
mod pages;
mod state;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use kart_core::event::shared::{Cursor, SharedLog};
use maud::Markup;

use crate::exit::{codes, Failure};
use crate::out::say;
use state::State;

/// How often new events are read.
const POLL: Duration = Duration::from_millis(300);

type Shared = Arc<RwLock<State>>;

/// What the pages read: the folded events, and where outputs are.
#[derive(Clone)]
struct App {
    state: Shared,
    outputs: Arc<outputs::Outputs>,
}

/// Reads what the log has beyond `cursor` into `state`.
fn fold(log: &SharedLog, cursor: &mut Cursor, state: &Shared) -> Result<(), kart_core::Error> {
    log.read_to_end(cursor, |page| {
        let mut s = state.write().unwrap_or_else(|p| p.into_inner());
        for e in &page {
            s.apply(e);
        }
        std::ops::ControlFlow::Continue(())
    })
    .map(|_| ())
}

pub(crate) fn ui_command(
    bin: &str,
    registry: &'static kart_core::registry::Registry,
    args: &[String],
) -> Result<u8, Failure> {
    let Some(cmd) = crate::commands::parse::<crate::command::UiCommand>(bin, "ui", args)? else {
        return Ok(codes::SUCCESS);
    };
    let config = Arc::new(kart_core::config::Config::discover(
        cmd.backend.config.as_deref(),
    )?);
    let settings = kart_core::config::Settings::resolve(&cmd.backend.settings.overrides, &config)?;
    let outputs = outputs::Outputs::new(
        registry,
        kart_core::registry::ParamDefaults::new(config),
        settings.workspace.display().to_string(),
    );
    let log = settings.shared_events()?;
    let state: Shared = Arc::default();
    let mut cursor = Cursor::default();
    // Everything so far before the first page, so it is whole.
    fold(&log, &mut cursor, &state)?;
    let listener = std::net::TcpListener::bind(cmd.bind)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| Failure {
            message: format!("cannot listen on {}: {e}", cmd.bind),
            code: codes::BAD_INPUT,
        })?;
    let addr = listener.local_addr().unwrap_or(cmd.bind);
    {
        let (log, state) = (log.clone(), state.clone());
        std::thread::Builder::new()
            .name("kart-ui-reader".into())
            .spawn(move || {
                let mut failing = false;
                loop {
                    std::thread::sleep(POLL);
                    match fold(&log, &mut cursor, &state) {
                        Ok(()) => failing = false,
                        Err(e) if !failing => {
                            tracing::warn!("cannot read {}: {e}", log.describe());
                            failing = true;
                        }
                        Err(_) => {}
                    }
                }
            })
            .map_err(|e| Failure {
                message: format!("cannot start the reader thread: {e}"),
                code: codes::BAD_INPUT,
            })?;
    }
    say!("kart ui: http://{addr}/ (reading {})", log.describe());
    let app = Router::new()
        .route("/", get(runs))
        .route("/families", get(families))
        .route("/family/{name}", get(family))
        .route("/task/{id}", get(task))
        .route("/run/{id}", get(run))
        .route("/calendar/{family}", get(calendar))
        .with_state(App {
            state,
            outputs: Arc::new(outputs),
        });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| Failure {
            message: format!("cannot start the web server: {e}"),
            code: codes::BAD_INPUT,
        })?;
    runtime
        .block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, app).await
        })
        .map_err(|e| Failure {
            message: format!("the web server on {addr} stopped: {e}"),
            code: codes::BAD_INPUT,
        })?;
    Ok(codes::SUCCESS)
}

/// Whether the page's script asks for its `<main>` alone.
fn partial(headers: &HeaderMap) -> bool {
    headers.contains_key("x-kart-partial")
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

async fn runs(Extract(app): Extract<App>, headers: HeaderMap) -> Markup {
    let s = app.state.read().unwrap_or_else(|p| p.into_inner());
    pages::page("runs", partial(&headers), pages::runs(&s, now()))
}

async fn families(Extract(app): Extract<App>, headers: HeaderMap) -> Markup {
    let s = app.state.read().unwrap_or_else(|p| p.into_inner());
    pages::page("families", partial(&headers), pages::families(&s))
}

async fn family(
    Extract(app): Extract<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Markup {
    let s = app.state.read().unwrap_or_else(|p| p.into_inner());
    pages::page(&name, partial(&headers), pages::family(&s, &name))
}

/// A page about one thing, or a 404 saying it is not in the events.
fn found(title: &str, partial: bool, main: Option<Markup>, what: &str) -> (StatusCode, Markup) {
    match main {
        Some(main) => (StatusCode::OK, pages::page(title, partial, main)),
        None => (
            StatusCode::NOT_FOUND,
            pages::page(
                title,
                partial,
                pages::not_found(&format!("no {what} {title} in the events")),
            ),
        ),
    }
}

async fn task(
    Extract(app): Extract<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, Markup) {
    let s = app.state.read().unwrap_or_else(|p| p.into_inner());
    found(
        &id,
        partial(&headers),
        pages::task(&s, &id, &app.outputs),
        "task",
    )
}

async fn calendar(
    Extract(app): Extract<App>,
    Path(family): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, Markup) {
    let s = app.state.read().unwrap_or_else(|p| p.into_inner());
    found(
        &family,
        partial(&headers),
        calendar::page(&s, &family),
        "range over",
    )
}

async fn run(
    Extract(app): Extract<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, Markup) {
    let s = app.state.read().unwrap_or_else(|p| p.into_inner());
    found(&id, partial(&headers), pages::run(&s, &id, now()), "run")
}
