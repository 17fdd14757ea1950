//! Page data and server function answers: JSON on the wire, read in the browser by one decoder.
//!
//! The browser reads every answer as a `serde_json::Value` first and then into its type. Reading
//! text straight into a type compiles serde_json's whole parser (whitespace, escapes, error
//! positions) into each type's decoder; through `Value` the parser is compiled once and each type
//! gets only the small `Value` walk. Page data (Leptos resources, serialized into the page for
//! hydration) uses the same reader as server function answers (`PageJson`), so no type's decoder
//! is compiled twice.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads JSON into `T` through `serde_json::Value` (see the module's note).
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes)?;
    T::deserialize(value)
}

/// Server function answers as JSON (what Leptos's `Json` sends), read with `decode_json`.
pub struct JsonViaValue;

impl ContentType for JsonViaValue {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonViaValue {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonViaValue {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, serde_json::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonViaValue {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, serde_json::Error> {
        decode_json(&bytes)
    }
}

/// The output encoding of every server function (`#[server(output = PageJson, ...)]`).
pub type PageJson = Post<JsonViaValue>;

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
        decode_json(val.as_bytes())
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
