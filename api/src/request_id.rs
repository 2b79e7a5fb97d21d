//! The id of the request being served: accepted from `X-Request-Id` or made, echoed back, written to
//! the request's log line, its audit entries and its problems, so a person asking for help can quote it.
tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `fut` as the request with this id.
pub async fn scope<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The id of the request being served; `None` outside a request (background jobs).
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}
