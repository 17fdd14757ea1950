//! Page data: a Leptos resource, serialized into the server-rendered page for hydration and
//! decoded by the browser with the same format as the page loaders' server function answers:
//! postcard (`#[server(output = Postcard, ...)]` on every loader). A compact, non-self-describing
//! format: each page type's decoder in the wasm bundle is a plain sequence read, where JSON needs
//! field-name matching and its text parser in every one (177 kB of the bundle, measured). Form
//! actions and errors stay JSON.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Page data in the page: postcard, base64-encoded (as server functions answer, see `PageAnswer`).
pub struct PageCodec;

impl<T: Serialize> Encoder<T> for PageCodec {
    type Error = postcard::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, postcard::Error> {
        use base64::Engine;
        postcard::to_allocvec(val)
            .map(|b| base64::engine::general_purpose::STANDARD_NO_PAD.encode(b))
    }
}

impl<T: DeserializeOwned> Decoder<T> for PageCodec {
    type Error = postcard::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, postcard::Error> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(val)
            .map_err(|_| postcard::Error::DeserializeBadEncoding)?;
        postcard::from_bytes(&bytes)
    }
}

/// A page's data.
pub type Data<T> = Resource<T, PageCodec>;

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
