//! Page data: a Leptos resource whose server-rendered value the browser decodes with the same
//! JSON reader as server function answers (`serde_json::from_slice`). With Leptos's default codec
//! (`from_str`) every page type's decoder was compiled twice into the wasm bundle.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// JSON, decoded from bytes.
pub struct SliceJson;

impl<T: Serialize> Encoder<T> for SliceJson {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(val)
    }
}

impl<T: DeserializeOwned> Decoder<T> for SliceJson {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(val.as_bytes())
    }
}

/// A page's data.
pub type Data<T> = Resource<T, SliceJson>;

/// Loads page data with `fetcher` whenever `source` changes (as `Resource::new`).
#[track_caller]
pub fn page_data<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Data<T>
where
    S: Send + Sync + Clone + PartialEq + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}
