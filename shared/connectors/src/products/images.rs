//! Downloading an item's image from where Lightspeed keeps it (its `baseImageURL`, on
//! Cloudinary), to upload it as the Business Central item picture. The only place the sync
//! reads a URL that comes from record data: http(s) only, bounded in time and size.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use lsbc_core::StageError;

/// Largest image downloaded (a picture is shown in BC's item card; Lightspeed's own
/// originals are far smaller).
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// How long one download may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why an image was not downloaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The host refused or doesn't have it (4xx other than 408/429): the picture is left
    /// as it is, with a warning.
    #[error("image {url} is not available (HTTP {status})")]
    Unavailable {
        /// The URL.
        url: String,
        /// The status answered.
        status: u16,
    },
    /// Over [`MAX_IMAGE_BYTES`]: left out, with a warning.
    #[error("image {url} is over {MAX_IMAGE_BYTES} bytes")]
    TooLarge {
        /// The URL.
        url: String,
    },
    /// Not an http(s) URL: left out, with a warning.
    #[error("image URL `{url}` is not an http(s) URL")]
    BadUrl {
        /// The URL.
        url: String,
    },
    /// The host is unreachable or failing (timeout, 5xx, 408, 429): try again.
    #[error("image {url} could not be downloaded for now: {message}")]
    Transient {
        /// The URL.
        url: String,
        /// What happened.
        message: String,
    },
}

/// Where image bytes come from.
#[async_trait]
pub trait ImageFetcher: Send + Sync {
    /// The bytes at `url`.
    async fn fetch(&self, url: &str) -> Result<Bytes, ImageError>;
}

/// Downloads over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpImages {
    http: reqwest::Client,
}

impl HttpImages {
    /// A downloader with its own connection pool.
    pub fn new() -> Result<Self, StageError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| StageError::Config(format!("image downloader: {e}")))?;
        Ok(Self { http })
    }
}

#[async_trait]
impl ImageFetcher for HttpImages {
    async fn fetch(&self, url: &str) -> Result<Bytes, ImageError> {
        let parsed = url::Url::parse(url).map_err(|_| ImageError::BadUrl { url: url.into() })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ImageError::BadUrl { url: url.into() });
        }
        let transient = |e: reqwest::Error| ImageError::Transient {
            url: url.into(),
            message: e.to_string(),
        };
        let mut response = self.http.get(parsed).send().await.map_err(transient)?;
        let status = response.status();
        if !status.is_success() {
            let code = status.as_u16();
            return Err(if status.is_server_error() || code == 408 || code == 429 {
                ImageError::Transient {
                    url: url.into(),
                    message: format!("HTTP {code}"),
                }
            } else {
                ImageError::Unavailable {
                    url: url.into(),
                    status: code,
                }
            });
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_IMAGE_BYTES as u64)
        {
            return Err(ImageError::TooLarge { url: url.into() });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transient)? {
            if body.len() + chunk.len() > MAX_IMAGE_BYTES {
                return Err(ImageError::TooLarge { url: url.into() });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_http_urls_are_fetched() {
        let images = HttpImages::new().unwrap();
        for url in ["file:///etc/passwd", "not a url", "ftp://example.com/a.jpg"] {
            assert!(
                matches!(images.fetch(url).await, Err(ImageError::BadUrl { .. })),
                "{url}"
            );
        }
    }
}
