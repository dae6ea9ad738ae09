//! Item images served by the Lightspeed simulator itself. Generated and seeded images point
//! at Lightspeed's image CDN, as real ones do; [`LightspeedSandbox::serve_images`] points
//! every image at the simulator's own image route (`/_sandbox/images/`), so a sync against
//! it (the demo, `lsbc-sandbox`) fetches pictures from 127.0.0.1 and nowhere else.

use serde_json::Value;

use crate::lightspeed::{Entity, LightspeedSandbox, SandboxError};

impl LightspeedSandbox {
    /// Where the simulator serves images: the `baseImageURL` of an image it serves.
    pub fn image_host(&self) -> String {
        format!("{}/_sandbox/images/", self.base_url())
    }

    /// Points every image of the account at [`Self::image_host`] (moving each image's
    /// `timeStamp`, as an edit would). Returns how many images it serves.
    pub fn serve_images(&self) -> Result<usize, SandboxError> {
        let host = self.image_host();
        let ids: Vec<u64> = self
            .records(Entity::Image)
            .iter()
            .filter_map(|image| image.get("imageID").and_then(Value::as_str)?.parse().ok())
            .collect();
        for id in &ids {
            self.set_field(Entity::Image, *id, "baseImageURL", &host)?;
        }
        Ok(ids.len())
    }
}

#[cfg(test)]
mod tests {
    // Test code: a failed unwrap is a failed test.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::lightspeed::{LightspeedSandboxConfig, Sizes, generate};

    #[tokio::test]
    async fn every_image_is_served_from_the_simulator() {
        let sandbox = LightspeedSandbox::start(LightspeedSandboxConfig::default())
            .await
            .unwrap();
        sandbox.load(&generate(3, Sizes::default())).unwrap();
        let before = sandbox.records(Entity::Image);
        assert!(!before.is_empty());
        assert!(
            before
                .iter()
                .all(|i| !i["baseImageURL"].as_str().unwrap().contains("127.0.0.1")),
            "generated images live on the CDN"
        );
        assert_eq!(sandbox.serve_images().unwrap(), before.len());
        let host = sandbox.image_host();
        for image in sandbox.records(Entity::Image) {
            assert_eq!(image["baseImageURL"], host.as_str());
            let url = format!("{host}{}.png", image["publicID"].as_str().unwrap());
            let answer = reqwest::get(&url).await.unwrap();
            assert_eq!(answer.status(), 200, "{url}");
            assert!(answer.bytes().await.unwrap().starts_with(b"\x89PNG"));
        }
        sandbox.stop().await;
    }
}
